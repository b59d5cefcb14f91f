// Whether a cluster can mount the image volume an oci:// model's weights come in (Kubernetes KEP-4639: alpha in
// 1.31, beta from 1.33, on by default from 1.35).

const FIRST_WITH_IMAGE_VOLUMES = 31;
const FIRST_ON_BY_DEFAULT = 35;

export interface ClusterFacts {
  /** cloud.kubernetesVersion: "1.MINOR". */
  readonly kubernetesVersion: string | undefined;
  /** cloud.imageVolumes: the ImageVolume feature gate is on. */
  readonly imageVolumes: boolean | undefined;
  /** Where the facts are written, for the message. */
  readonly platformFile: string;
}

/** What is missing for an oci:// model on this cluster, as an "expected …" message; undefined when nothing is. */
export function imageVolumeProblem(cluster: ClusterFacts): string | undefined {
  const { kubernetesVersion, imageVolumes, platformFile } = cluster;
  if (kubernetesVersion === undefined) {
    return `expected cloud.kubernetesVersion in ${platformFile} for an oci:// model: its weights are an image volume, which Kubernetes mounts by default from 1.${FIRST_ON_BY_DEFAULT} (from 1.${FIRST_WITH_IMAGE_VOLUMES} with the ImageVolume feature gate, cloud.imageVolumes: true)`;
  }
  const minor = Number(kubernetesVersion.split('.')[1]);
  if (minor < FIRST_WITH_IMAGE_VOLUMES) {
    return `expected an hf:// or pvc:// model on Kubernetes ${kubernetesVersion} (cloud.kubernetesVersion in ${platformFile}): oci:// weights are an image volume, which Kubernetes has from 1.${FIRST_WITH_IMAGE_VOLUMES}`;
  }
  if (minor < FIRST_ON_BY_DEFAULT && imageVolumes !== true) {
    return `expected cloud.imageVolumes: true in ${platformFile} for an oci:// model on Kubernetes ${kubernetesVersion}: image volumes are off by default before 1.${FIRST_ON_BY_DEFAULT}; turn on the ImageVolume feature gate, or use an hf:// or pvc:// model`;
  }
  return undefined;
}
