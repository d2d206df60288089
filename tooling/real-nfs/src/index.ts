export { nfsVmMissing, runInNfsVm, REPO_ROOT, type NfsVersion, type NfsVmOptions, type NfsVmResult } from './nfs-vm.js';
