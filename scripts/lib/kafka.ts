import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { probePort } from './probe.ts';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';

export interface RunningKafka {
  /** Bootstrap addresses for clients: `['127.0.0.1:<port>']`. */
  readonly brokers: string[];
  /** SIGTERM (a clean shutdown, SIGKILL after 30 s) and wait for the process to exit. */
  stop(): Promise<void>;
  /** Start the broker again on the same ports and data dir: topics, messages and offsets survive. */
  start(): Promise<void>;
  /** SIGKILL and wait for the exit: a crash. Data written before survives (it is in the OS page cache). */
  kill(): Promise<void>;
}

export interface KafkaOptions {
  /** PLAINTEXT listener for clients, on 127.0.0.1. */
  port: number;
  /** CONTROLLER listener (KRaft quorum), on 127.0.0.1. */
  controllerPort: number;
  /** Holds server.properties, the cluster id and the data (`<dir>/data`); kept across stop/start. */
  dir: string;
  /** The repository root: the jars are in `<rootDir>/.tools/kafka/libs` (scripts/install.sh). */
  rootDir: string;
  /** The broker's log (log4j, plus anything the JVM prints). Default `<dir>/server.log`. */
  logFile?: string;
}

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;
const JVM_OPTS = ['-Xms256m', '-Xmx512m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true'];

/**
 * Starts a single-node Apache Kafka 3.9 broker in KRaft mode (combined broker + controller, no
 * ZooKeeper) on loopback, formats its storage the first time, and waits until it answers Kafka
 * requests (a metadata request through kafkajs). Its log goes to a file, not to stdout.
 */
export async function startKafka(options: KafkaOptions): Promise<RunningKafka> {
  const { port, controllerPort, dir, rootDir } = options;
  const logFile = options.logFile ?? join(dir, 'server.log');
  const libs = join(rootDir, '.tools/kafka/libs');
  if (!existsSync(libs)) throw new Error(`the Kafka broker's jars are missing in ${libs} (run scripts/install.sh)`);
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'server.properties');
  writeFileSync(config, serverProperties(options));
  const java = (mainClass: string, args: string[]): string[] => [
    ...JVM_OPTS,
    `-Dlog4j.configuration=file:${join(rootDir, 'scripts/kafka/log4j.properties')}`,
    `-Domnigate.kafka.log=${logFile}`,
    '-cp',
    `${libs}/*`,
    mainClass,
    ...args,
  ];
  const brokers = [`127.0.0.1:${port}`];

  if (!existsSync(join(dir, 'data/meta.properties'))) {
    const idFile = join(dir, 'cluster.id');
    if (!existsSync(idFile)) writeFileSync(idFile, clusterId());
    const id = readFileSync(idFile, 'utf8').trim();
    const code = await run('java', java('kafka.tools.StorageTool', ['format', '--ignore-formatted', '-t', id, '-c', config]), logFile);
    if (code !== 0) throw new Error(`formatting the Kafka storage in ${dir} failed (exit ${code}) — ${logFile}:\n${tail(logFile)}`);
  }

  let child: ChildProcess | undefined;
  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const end = (signal: NodeJS.Signals, graceMs: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const c = child;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill(signal);
      if (signal !== 'SIGKILL') setTimeout(() => c.kill('SIGKILL'), graceMs).unref();
    });

  const start = async (): Promise<void> => {
    if (running()) throw new Error(`the Kafka broker on port ${port} is already running`);
    for (const [p, what] of [[port, 'port'], [controllerPort, 'controllerPort']] as const) {
      if (await probePort(p)) throw new Error(`port ${p} for kafka (${what}) is already in use (choose other ports)`);
    }
    const out = openSync(logFile, 'a');
    const c = spawn('java', java('kafka.Kafka', [config]), { cwd: dir, stdio: ['ignore', out, out] });
    closeSync(out);
    child = c;
    const orphanGuard = (): void => void c.kill('SIGKILL');
    process.once('exit', orphanGuard);
    c.once('exit', () => process.removeListener('exit', orphanGuard));
    const spawnFailed = new Promise<never>((_, reject) => c.once('error', (err) => reject(new Error(`could not start java for kafka: ${err.message}`))));
    spawnFailed.catch(() => {});
    try {
      await Promise.race([waitUntilServing(brokers, c, logFile), spawnFailed]);
    } catch (err) {
      await end('SIGKILL', 0);
      throw err;
    }
  };

  await start();
  return {
    brokers,
    start,
    stop: () => end('SIGTERM', STOP_GRACE_MS),
    kill: () => end('SIGKILL', 0),
  };
}

function serverProperties(o: KafkaOptions): string {
  const settings: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${o.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${o.port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': join(o.dir, 'data'),
    'num.partitions': 3,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'auto.create.topics.enable': 'false',
    'offsets.topic.replication.factor': 1,
    // One partition each for the internal topics (default 50): they are created on first use,
    // and 50 partitions take seconds on a small machine.
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
    // Tests shorten consumer sessions (OMNIGATE_KAFKA_SESSION_TIMEOUT_MS) to see a crashed node's partitions move.
    'group.min.session.timeout.ms': 1_000,
    // Sized for a 2-core dev machine and a 512 MB heap.
    'num.network.threads': 2,
    'num.io.threads': 4,
    'num.recovery.threads.per.data.dir': 1,
    'background.threads': 4,
    'log.cleaner.threads': 1,
    'log.cleaner.dedupe.buffer.size': 8 * 1024 * 1024,
    'log.segment.bytes': 64 * 1024 * 1024,
    'log.retention.hours': 168,
    // A lone voter: no need to wait long for peers that do not exist.
    'controller.quorum.election.timeout.ms': 500,
    'controller.quorum.fetch.timeout.ms': 1000,
    // After a kill, the new process must wait for the old registration's session to expire
    // before its broker may register again (9 s by default).
    'broker.heartbeat.interval.ms': 500,
    'broker.session.timeout.ms': 4000,
  };
  const lines = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  return `# Written by scripts/lib/kafka.ts on every start; edits are lost.\n${lines.join('\n')}\n`;
}

/** A KRaft cluster id: 16 random bytes, base64url without padding (what `kafka-storage random-uuid` prints). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id; // a leading '-' would read as an option on the command line
  }
}

async function waitUntilServing(brokers: string[], child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  const kafka = new Kafka({ clientId: 'omnigate-kafka-probe', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1_000, requestTimeout: 2_000, retry: { retries: 0 } });
  let lastError = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the Kafka broker exited (${child.exitCode ?? child.signalCode}) before it served — ${logFile}:\n${tail(logFile)}`);
    }
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.listTopics();
      return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the Kafka broker did not serve on ${brokers.join(',')} within ${START_TIMEOUT_MS} ms (last: ${lastError}) — ${logFile}:\n${tail(logFile)}`);
}

/** Runs a short-lived process with its output appended to `logFile`; resolves to its exit code. */
function run(cmd: string, args: string[], logFile: string): Promise<number> {
  const out = openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', out, out] });
  closeSync(out);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`could not start ${cmd}: ${err.message}`)));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** The last `lines` lines of a log file (what a failed start shows). */
function tail(file: string, lines = 40): string {
  if (!existsSync(file)) return '(no log)';
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, 16 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString().split('\n').slice(-lines - 1).join('\n').trimEnd();
  } finally {
    closeSync(fd);
  }
}
