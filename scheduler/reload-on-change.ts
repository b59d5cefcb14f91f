// Files the router re-reads while it runs (TLS pairs, CA bundles) live in mounted Secrets, which kubelet updates
// by swapping a symlink inside their directory: the directory is watched, and also polled because watch events
// can be missed or unsupported (some network and overlay file systems). `reload` is called on every event and
// poll, so it must tell for itself whether anything changed and keep the last good content when the new one
// does not load.
import { watch, type FSWatcher } from 'node:fs';

export interface ChangeWatch {
  close(): void;
}

export function reloadOnChange(dir: string, reload: () => void, pollIntervalMs: number): ChangeWatch {
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, () => reload());
    watcher.on('error', () => watcher?.close());
    watcher.unref();
  } catch {
    watcher = undefined;
  }
  const poll = setInterval(reload, pollIntervalMs);
  poll.unref();
  return {
    close() {
      clearInterval(poll);
      watcher?.close();
    },
  };
}
