export {
  glusterMissing,
  leftoversOf,
  runOnGluster,
  REPO_ROOT,
  type GlusterRunOptions,
  type GlusterRunResult,
  type GlusterVolumeType,
} from './gluster-volume.js';
