import type { Classification } from '../chat/conversation.types.ts';

/** The coarse intents routing's rules read (`bot.intent`), first match wins; a visitor who said none of these words is `other`. */
const INTENTS: readonly (readonly [intent: string, words: RegExp])[] = [
  ['orders', /\b(orders?|deliver(y|ed)?|ship(ping|ped|ment)?|parcels?|packages?|track(ing)?|returns?)\b|订单|快递|物流|退货/i],
  ['billing', /\b(invoices?|bill(ing|ed)?|payments?|paid|pay|charged?|refunds?|prices?)\b|发票|付款|退款/i],
  ['account', /\b(accounts?|passwords?|log ?in|sign ?in|username|e-?mail address)\b|账号|账户|密码|登录/i],
];

/** Han script, for a visitor who writes Chinese in a conversation of no stated language. */
const HAN = /\p{Script=Han}/u;

/**
 * What a conversation is about, for routing's `bot.*` facts: the intent of the latest of the
 * visitor's texts that names one (keywords only: orders, billing, account, else `other`), and the
 * language the widget gave the conversation, else `zh` when the visitor wrote Han characters, else
 * none (it does not guess). The bot runner uses it when a bot hands over without a classification
 * of its own, so the routing rules' vocabulary stays the same whatever bot is configured.
 */
export function classify(said: readonly string[], language: string | undefined): Classification {
  const intent = [...said].reverse().map((text) => INTENTS.find(([, words]) => words.test(text))?.[0]).find((found) => found !== undefined) ?? 'other';
  const lang = language ?? (said.some((text) => HAN.test(text)) ? 'zh' : undefined);
  return { intent, ...(lang === undefined ? {} : { language: lang }) };
}
