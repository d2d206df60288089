export * from "./posix-fs.js";
