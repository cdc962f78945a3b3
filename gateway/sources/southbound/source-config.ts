// Config pieces every southbound source shares: its name (the InfluxDB tag "source") and the
// measurement, field and tag names its readings may carry (protocol/readings.ts).
import { Type } from "@sinclair/typebox";
import { ID_MAX_LENGTH, ID_PATTERN } from "../../../protocol/topics.js";
import { MAX_READING_TAGS, MAX_TAG_VALUE_LENGTH, READING_NAME_PATTERN } from "../../../protocol/readings.js";

export const SourceNameSchema = Type.String({ pattern: ID_PATTERN.source, maxLength: ID_MAX_LENGTH, description: "source name: [a-z0-9-], 1..24; the tag \"source\" in InfluxDB" });
export const ReadingNameSchema = Type.String({
  pattern: "^(?!vw_)[a-z_][a-z0-9_]{0,63}$",
  description: "measurement or field name: [a-z_][a-z0-9_]*, not starting with vw_ (vibewatch's own)",
});
export const SourceTagsSchema = Type.Record(Type.String({ pattern: READING_NAME_PATTERN.source }), Type.String({ minLength: 1, maxLength: MAX_TAG_VALUE_LENGTH }), {
  maxProperties: MAX_READING_TAGS,
  description: "fixed tags on every reading (line, cell...); not site, gateway, source or device",
});

/**
 * A source's config as the gateway holds it after loading: every field with a schema default is
 * present (load-config.ts runs Value.Default). The schemas mark those fields optional so that a
 * config file, the sample configs included, may leave them out.
 */
export type WithDefaults<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: Exclude<T[P], undefined> };
