// Moddable "preference" (typings/preference.d.ts): small persistent key/value store.
// On ESP32 it is NVS: domain and key <= 15 characters, values <= 4000 bytes; flash wears, so
// callers write only when a value changes.
declare module "preference" {
  type PreferenceValue = string | boolean | number | ArrayBuffer;
  const Preference: {
    set(domain: string, key: string, value: PreferenceValue): void;
    get(domain: string, key: string): PreferenceValue | undefined;
    delete(domain: string, key: string): void;
    keys(domain: string): string[];
  };
  export default Preference;
}
