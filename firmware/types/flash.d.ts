// Moddable "flash" (modules/files/flash/flash.js): a flash partition by name; on the ESP32 "running"
// and "nextota" name the app partitions (modules/files/flash/esp32/flash.c), other names a data
// partition. Offsets and sectors are relative to the partition. NOR flash: write only clears bits,
// erase(sector) sets a whole blockSize sector back to 0xFF.
declare module "flash" {
  class Flash {
    constructor(partition: string);
    erase(sector: number): void;
    read(offset: number, byteLength: number): ArrayBuffer;
    readString(offset: number, byteLength: number): string;
    write(offset: number, byteLength: number, buffer: ArrayBuffer): void;
    get byteLength(): number;
    get blockSize(): number;
  }
  export { Flash as default };
}
