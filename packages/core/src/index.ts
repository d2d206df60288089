export * from './errors/fanout-error.js';
export * from './backend/spool-backend.js';
export * from './backend/plain-name.js';
export * from './names/protocol-names.js';
export * from './ids/ids.js';
