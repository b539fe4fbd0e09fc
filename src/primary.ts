import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { createFileAuditLog } from './adapters/file/file-audit-log.ts';
import type { Config } from './config/config.types.ts';
import type { Logger } from './kernel/logger.ts';
import { shutdownDeadlineMs } from './kernel/shutdown.ts';
import type { AuditRecord } from './ports/audit-log.ts';
import type { FromPrimary, ToPrimary } from './modules/host/host-channel.ts';

/** How long a process that ended unasked waits before it is started again. */
const RESTART_DELAY_MS = 1_000;
/** EX_CONFIG: a process that stops on its config would stop again; the host stops instead. */
const CONFIG_ERROR_EXIT = 78;

/**
 * The primary of a host that runs `OMNIGATE_PROCESSES` gateway processes behind one port
 * (node:cluster: the processes share the listening socket). Each process is a node of its own,
 * `<NODE_ID>-p<index>`, sharing state through Redis as separate nodes do; one that ends unasked is
 * started again with the same index, so its id stays. The primary serves no requests: it is the
 * host's one audit writer, relays the events the processes hand to each other (lifecycle commands,
 * when there is no Kafka to carry them) and aggregates their metrics for `/metrics`.
 * SIGTERM or SIGINT stops every process gracefully, then the primary.
 */
export async function runPrimary(config: Config, log: Logger): Promise<void> {
  const count = config.processes.count;
  const audit = createFileAuditLog(config.auditFile);
  const aggregator = new AggregatorRegistry();
  const processes = new Map<number, Worker>();
  let stopping = false;

  const reply = (worker: Worker, message: FromPrimary) => {
    if (worker.isConnected()) worker.send(message);
  };
  const onMessage = (from: Worker, message: ToPrimary) => {
    switch (message.omnigate) {
      case 'bus':
        for (const worker of processes.values()) if (worker !== from) reply(worker, message);
        return;
      case 'audit':
        audit.append(message.record as AuditRecord).then(
          () => reply(from, { omnigate: 'reply', id: message.id }),
          (err: unknown) => reply(from, { omnigate: 'reply', id: message.id, error: err instanceof Error ? err.message : String(err) }),
        );
        return;
      case 'metrics':
        aggregator.clusterMetrics().then(
          (text) => reply(from, { omnigate: 'reply', id: message.id, text, contentType: aggregator.contentType }),
          (err: unknown) => reply(from, { omnigate: 'reply', id: message.id, error: err instanceof Error ? err.message : String(err) }),
        );
        return;
    }
  };

  const start = (index: number) => {
    const worker = cluster.fork({ OMNIGATE_PROCESS_INDEX: String(index) });
    processes.set(index, worker);
    worker.on('message', (message: unknown) => {
      if (typeof message === 'object' && message !== null && 'omnigate' in message) onMessage(worker, message as ToPrimary);
    });
    worker.on('exit', (code, signal) => {
      if (processes.get(index) === worker) processes.delete(index);
      if (stopping) return;
      if (code === CONFIG_ERROR_EXIT) {
        log.error({ index, code }, 'a gateway process stopped on its config: stopping the host');
        void stop(CONFIG_ERROR_EXIT);
        return;
      }
      log.error({ index, processPid: worker.process.pid, code, signal }, 'a gateway process ended: starting it again');
      setTimeout(() => stopping || start(index), RESTART_DELAY_MS);
    });
  };

  let stopped: Promise<void> | undefined;
  const stop = (exitCode: number) =>
    (stopped ??= (async () => {
      stopping = true;
      const all = [...processes.values()];
      // After each process's own deadline (which logs what it was still closing), not before it.
      const grace = setTimeout(() => all.forEach((w) => w.process.kill('SIGKILL')), shutdownDeadlineMs(config.shutdownGraceMs) + 5_000);
      await Promise.all(all.map((w) => new Promise<void>((resolve) => {
        if (w.isDead()) return resolve();
        w.once('exit', () => resolve());
        w.process.kill('SIGTERM');
      })));
      clearTimeout(grace);
      log.info({ processes: all.length }, 'stopped');
      process.exit(exitCode);
    })());

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal, processes: processes.size }, 'shutting down');
      void stop(0);
    });
  }
  log.info({ processes: count, nodeId: config.nodeId }, 'starting gateway processes');
  for (let index = 0; index < count; index++) start(index);
}
