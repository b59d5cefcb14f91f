// utilization-detector: per endpoint max(waiting/queueDepthThreshold, kvUsage/kvCacheUtilThreshold); metrics
// older than metricsStalenessThreshold (or missing) count as 1 (full). The pool's saturation is the mean over
// the candidates. Switchyard adds the requests it picked since the endpoint's last scrape to the waiting count,
// so a burst between two scrapes is seen.
import type { PluginSpec } from '../types.ts';
import { waitingRequestsSeen } from '../state.ts';
import { paramReader } from './params.ts';
import type { SaturationDetectorPlugin } from './plugin.ts';

export function utilizationDetector(spec: PluginSpec): SaturationDetectorPlugin {
  const params = paramReader(spec.name, spec.parameters);
  const queueDepthThreshold = params.number('queueDepthThreshold', 5, { min: 0.001 });
  const kvCacheUtilThreshold = params.number('kvCacheUtilThreshold', 0.8, { min: 0.001, max: 1 });
  const stalenessMs = params.number('metricsStalenessThreshold', 200, { min: 0, duration: true });
  const threshold = params.number('threshold', 1, { min: 0 });
  const headroom = params.number('headroom', 0, { min: 0 });
  return {
    kind: 'saturation-detector',
    type: spec.type,
    name: spec.name,
    filterLimit: threshold * (1 + headroom),
    endpointSaturation(endpoint, state, nowMs) {
      const metrics = endpoint.metrics;
      if (metrics === undefined || nowMs - metrics.scrapedAtMs > stalenessMs) return 1;
      return Math.max(
        waitingRequestsSeen(state, endpoint) / queueDepthThreshold,
        metrics.kvCacheUsage / kvCacheUtilThreshold,
      );
    },
  };
}
