import { readEnvArea } from './env-area.ts';

const DAY_MS = 24 * 60 * 60_000;
/** Lineage entries are kept this long (by the time the call ended). */
export const DEFAULT_LINEAGE_RETENTION_MS = 30 * DAY_MS;
/** The newest this many entries of one conversation are kept (calls and understandings). */
export const DEFAULT_LINEAGE_MAX_PER_CONVERSATION = 10_000;
/** The newest this many calls that touched one business record are kept. */
export const DEFAULT_LINEAGE_MAX_PER_RECORD = 10_000;

/** Lineage settings (`OMNIGATE_LINEAGE_*`, `OMNIGATE_JAEGER_UI_URL`), parsed once and frozen. */
export interface LineageConfig {
  /** `OMNIGATE_LINEAGE_RETENTION_MS`: how long an entry is kept (and listed) after its call ended. */
  readonly retentionMs: number;
  /** `OMNIGATE_LINEAGE_MAX_PER_CONVERSATION`: the bound of one conversation's index; the oldest entries go first. */
  readonly maxPerConversation: number;
  /** `OMNIGATE_LINEAGE_MAX_PER_RECORD`: the bound of one business record's index; the oldest entries go first. */
  readonly maxPerRecord: number;
  /** `OMNIGATE_JAEGER_UI_URL`: Jaeger's UI (`http://127.0.0.1:16686`); when set, a trace's calls carry a link to their trace there. */
  readonly jaegerUiUrl?: string;
}

const SCHEMA = {
  type: 'object',
  properties: {
    OMNIGATE_LINEAGE_RETENTION_MS: { type: 'integer', minimum: 1_000, maximum: 3_650 * DAY_MS, default: DEFAULT_LINEAGE_RETENTION_MS },
    OMNIGATE_LINEAGE_MAX_PER_CONVERSATION: { type: 'integer', minimum: 1, maximum: 1_000_000, default: DEFAULT_LINEAGE_MAX_PER_CONVERSATION },
    OMNIGATE_LINEAGE_MAX_PER_RECORD: { type: 'integer', minimum: 1, maximum: 1_000_000, default: DEFAULT_LINEAGE_MAX_PER_RECORD },
    OMNIGATE_JAEGER_UI_URL: { type: 'string', pattern: '^https?://[^\\s]+$' },
  },
} as const;

/** The lineage settings from the environment, or every problem with them (each naming its variable). */
export function parseLineageConfig(env: NodeJS.ProcessEnv): { config: LineageConfig; problems?: never } | { config?: never; problems: string[] } {
  const { raw, problems } = readEnvArea(env, SCHEMA, { OMNIGATE_JAEGER_UI_URL: 'must be an http(s) URL' });
  if (problems.length > 0) return { problems };
  const jaeger = raw.OMNIGATE_JAEGER_UI_URL as string | undefined;
  return {
    config: Object.freeze({
      retentionMs: raw.OMNIGATE_LINEAGE_RETENTION_MS as number,
      maxPerConversation: raw.OMNIGATE_LINEAGE_MAX_PER_CONVERSATION as number,
      maxPerRecord: raw.OMNIGATE_LINEAGE_MAX_PER_RECORD as number,
      ...(jaeger === undefined ? {} : { jaegerUiUrl: jaeger.replace(/\/+$/, '') }),
    }),
  };
}
