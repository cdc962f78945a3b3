// Moddable "preference": small persistent key/value store, mirroring the SDK 8.2 typings
// ($MODDABLE/typings/preference.d.ts). On ESP32 it is NVS: domain and key <= 15 characters,
// values <= 4000 bytes; flash wears, so callers write only when a value changes.
declare module "preference" {
  const Preference: {
    set: (domain: string, key: string, value: string | boolean | number | ArrayBuffer) => void;
    get: (domain: string, key: string) => string | boolean | number | ArrayBuffer | undefined;
    delete: (domain: string, key: string) => void;
    keys: (domain: string) => string[];
  };
  export { Preference as default };
}
