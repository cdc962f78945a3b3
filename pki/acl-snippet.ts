// The Mosquitto ACL lines a new gateway needs (manifests/mosquitto/acl explains the model):
// devices are covered by the %u patterns, but a gateway reads every device topic, which a
// pattern cannot grant to one user only, so each gateway gets its own `user` block.
import { GATEWAY_CN_PREFIX, checkEntityName } from "./layout.js";
import { isValidId } from "../protocol/topics.js";

export function gatewayAclBlock(gateway: string, site?: string): string {
  checkEntityName("gateway", gateway);
  if (site !== undefined && !isValidId(site)) throw new Error(`invalid site id "${site}"`);
  const siteSegment = site ?? "+";
  return [
    `# gateway ${gateway} (certificate CN ${GATEWAY_CN_PREFIX}${gateway})`,
    `user ${GATEWAY_CN_PREFIX}${gateway}`,
    `topic read vw/v1/${siteSegment}/+/#`,
    `topic write vw/v1/${siteSegment}/+/cfg`,
    // OTA offers (retained) and chunk replies (issue 15); the requests (otareq) are covered by the read
    `topic write vw/v1/${siteSegment}/+/ota`,
    `topic write vw/v1/${siteSegment}/+/otadata`,
    `topic write vw/v1/${siteSegment}/_gw/${gateway}/#`,
    "",
  ].join("\n");
}
