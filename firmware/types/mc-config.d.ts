// "mc/config": build-time values from `mcconfig ... key=value` and the manifest's "config" section,
// mirroring the SDK 8.2 typings ($MODDABLE/typings/mc/config.d.ts): untyped, so firmware/config/
// build-config.ts checks every value it reads (command-line values arrive as strings).
/* eslint-disable @typescript-eslint/no-explicit-any -- mirrors the SDK typings, which say `any` here */
declare module "mc/config" {
  const Config: { file: { root: string } } & Record<string, any>;
  export { Config as default };
}
