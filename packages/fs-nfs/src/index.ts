export * from './retry.js';
export * from './nfs-backend.js';
export * from './open-nfs-spool.js';
export * from './nfs-implementation.js';
export * from './nfs-mount.js';
export * from './gluster.js';
