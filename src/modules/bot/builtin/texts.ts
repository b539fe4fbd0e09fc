import type { MessageContent } from '../../chat/conversation.types.ts';
import type { BotReply } from '../bot.types.ts';
import type { Lang } from './dialogue.types.ts';

/** A text in both languages. */
export type Phrase = Readonly<Record<Lang, string>>;

/** A text message. */
export const text = (t: string): MessageContent => ({ contentType: 'text', text: t });
/** An answer of one message per phrase, in the visitor's language. */
export const answer = (lang: Lang, ...phrases: Phrase[]): BotReply => ({ kind: 'answer', messages: phrases.map((p) => text(p[lang])) });
/** A question (the next message answers it), one message per phrase. */
export const ask = (lang: Lang, ...phrases: Phrase[]): BotReply => ({ kind: 'ask', messages: phrases.map((p) => text(p[lang])) });

/** What an order's canonical status reads as. */
const STATUS: Readonly<Record<string, Phrase>> = {
  pending: { en: 'is waiting for payment', zh: '待付款' },
  paid: { en: 'is paid and being prepared for shipping', zh: '已付款，正在备货' },
  shipped: { en: 'has shipped and is on its way', zh: '已发货，正在配送中' },
  delivered: { en: 'has been delivered', zh: '已送达' },
  cancelled: { en: 'was cancelled', zh: '已取消' },
  returned: { en: 'was returned', zh: '已退货' },
};

const STATUS_WORD: Readonly<Record<string, Phrase>> = {
  pending: { en: 'awaiting payment', zh: '待付款' }, paid: { en: 'paid', zh: '已付款' }, shipped: { en: 'shipped', zh: '已发货' },
  delivered: { en: 'delivered', zh: '已送达' }, cancelled: { en: 'cancelled', zh: '已取消' }, returned: { en: 'returned', zh: '已退货' },
};
/** An order's status as the bot reads it: canonical, with the source's own word for `other`. */
export interface OrderStatus {
  readonly status: string;
  readonly sourceStatus?: string;
}

/** `other`: what the orders system said, as it said it (the bot has no words of its own for it). */
const sourceSaid = (order: OrderStatus): Phrase | undefined => {
  if (order.status !== 'other') return undefined;
  const word = order.sourceStatus ?? 'unknown';
  return { en: `has the status "${word}" in the orders system`, zh: `在订单系统中的状态为"${word}"` };
};

/** An order status in a word, for a list (`other`: the source's word, quoted). */
export const statusWord = (order: OrderStatus, lang: Lang): string =>
  order.status === 'other' ? `"${order.sourceStatus ?? 'unknown'}"` : STATUS_WORD[order.status]?.[lang] ?? order.status;

/** Where an order stands, with the day it was ordered. */
export const statusPhrase = (orderId: string, order: OrderStatus, createdAt: string): Phrase => {
  const day = createdAt.slice(0, 10);
  const said = sourceSaid(order) ?? STATUS[order.status] ?? { en: `is ${order.status}`, zh: order.status };
  return { en: `Order ${orderId} ${said.en} (ordered on ${day}).`, zh: `订单${orderId}${said.zh}（下单日期 ${day}）。` };
};

/** How old a stale answer is, in minutes at least 1. */
export const stalePhrase = (ageMs: number): Phrase => {
  const minutes = Math.max(1, Math.round(ageMs / 60_000));
  return {
    en: `Note: the orders system is not answering right now; this is what it said ${minutes} minute${minutes === 1 ? '' : 's'} ago.`,
    zh: `提示：订单系统暂时无法访问，以上是${minutes}分钟前的信息。`,
  };
};

/** The short list a verified customer picks an order from. */
export const pickPhrase = (lines: readonly string[]): Phrase => ({
  en: `Which order do you mean? Reply with its number in this list:\n${lines.join('\n')}`,
  zh: `您问的是哪一个订单？请回复列表中的序号：\n${lines.join('\n')}`,
});

/** Where a source the bot needs is down: said plainly, with a person offered. */
export const SOURCE_DOWN: Readonly<Record<string, Phrase>> = {
  orders: { en: "Sorry, I can't see orders right now.", zh: '抱歉，我现在查不到订单信息。' },
  crm: { en: "Sorry, I can't see customer accounts right now.", zh: '抱歉，我现在查不到客户账户信息。' },
  tickets: { en: "Sorry, I can't open a ticket right now.", zh: '抱歉，我现在无法创建工单。' },
};

/** The bot's fixed phrases. */
export const P = {
  offerHuman: { en: 'Would you like to talk to a person? Say "yes" or "agent".', zh: '需要为您转接人工客服吗？请回复"是"或"转人工"。' },
  handingOver: { en: 'I am passing you to a colleague, one moment please.', zh: '正在为您转接人工客服，请稍候。' },
  notUnderstood: {
    en: 'Sorry, I did not understand. I can tell you where your order is, take a return or a complaint, or answer common questions. Say "agent" to talk to a person.',
    zh: '抱歉，我没有理解。我可以帮您查询订单状态、办理退货或投诉、解答常见问题。如需人工服务，请说"转人工"。',
  },
  greeting: {
    en: 'Hello! I can tell you where your order is, take a return or a complaint, or answer common questions. Say "agent" to talk to a person.',
    zh: '您好！我可以帮您查询订单状态、办理退货或投诉、解答常见问题。如需人工服务，请说"转人工"。',
  },
  declined: { en: 'All right. Anything else I can do?', zh: '好的。还有什么可以帮您？' },
  thanks: { en: "You're welcome! Anything else I can do?", zh: '不客气！还有什么可以帮您？' },
  askOrderNumber: { en: 'Which order is it? Please give me its number (like ORD-0001234).', zh: '请提供您的订单号（例如 ORD-0001234）。' },
  noOrders: { en: 'I cannot find any orders on your account.', zh: '您的账户下没有找到订单。' },
  askEmail: {
    en: 'To tell you about this order I need to know it is yours: what is the email address on the order?',
    zh: '为保护您的隐私，请提供下单时使用的邮箱地址，以便核实订单归属。',
  },
  emailMismatch: {
    en: 'That email does not match the order, so I cannot share anything about it.',
    zh: '该邮箱与订单不符，无法提供订单信息。',
  },
  statusOnly: {
    en: 'For the items and the total, please sign in to your account (or ask a colleague).',
    zh: '如需查看商品明细和金额，请登录您的账户（或咨询人工客服）。',
  },
  walkingRefused: {
    en: 'I cannot look up more order numbers without proof that they are yours. Ask again and I will pass you to a colleague.',
    zh: '在未核实身份的情况下，我不能继续查询更多订单号。如再次查询，我将为您转接人工客服。',
  },
  faqMissing: { en: 'I have no answer to that yet.', zh: '这个问题我暂时无法回答。' },
  askItem: { en: 'Which item is it about? (the product name, e.g. "the docking station")', zh: '是哪件商品？（请说商品名称，例如"扩展坞"）' },
  itemUnknown: { en: 'I could not recognise that product. Please name it as on the order.', zh: '没有识别出这件商品，请按订单上的名称告诉我。' },
  askReason: { en: 'What is the reason? Please describe it in a sentence.', zh: '请简单描述一下原因。' },
  askFormEmail: { en: 'Which email address should the ticket be sent to?', zh: '请提供接收工单通知的邮箱地址。' },
  badEmail: { en: 'That does not look like an email address.', zh: '这似乎不是有效的邮箱地址。' },
  askFormProof: {
    en: 'To file this for the order I need to know it is yours: what is the email address on the order?',
    zh: '为核实订单归属，请提供下单时使用的邮箱地址。',
  },
  formEmailMismatch: { en: 'That email does not match the order, so I cannot file anything for it.', zh: '该邮箱与订单不符，无法为该订单办理。' },
} as const satisfies Record<string, Phrase>;

/** The ticket opened for a return or complaint, its number told. */
export const ticketPhrase = (kind: 'return' | 'complaint', ticketId: string): Phrase =>
  kind === 'return'
    ? { en: `I have opened ticket ${ticketId} for your return. A colleague will contact you by email.`, zh: `已为您创建退货工单 ${ticketId}，客服会通过邮件与您联系。` }
    : { en: `I have opened ticket ${ticketId} for your complaint. A colleague will contact you by email.`, zh: `已为您创建投诉工单 ${ticketId}，客服会通过邮件与您联系。` };

/** A verified customer named an order of someone else's for a return or complaint. */
export const notYourOrderPhrase = (orderId: string): Phrase => ({
  en: `Order ${orderId} is not on your account, so I cannot file a return or complaint for it. Which of your orders is it? (its number, like ORD-0001234)`,
  zh: `订单${orderId}不在您的账户下，无法为其办理退货或投诉。请提供您自己的订单号（例如 ORD-0001234）。`,
});

/** The item named is not one of the order's (or was not recognised): its items, by name, to pick from. */
export const itemNotOnOrderPhrase = (orderId: string, names: readonly string[], named: boolean): Phrase => ({
  en: `${named ? `That item is not on order ${orderId}` : 'I could not recognise that product'}. Which of its items is it: ${names.join(', ')}?`,
  zh: `${named ? `订单${orderId}中没有这件商品` : '没有识别出这件商品'}。是以下哪一件：${names.join('、')}？`,
});

/** No such order (said the same whoever asks). */
export const notFoundPhrase = (orderId: string): Phrase => ({ en: `I cannot find order ${orderId}.`, zh: `没有找到订单${orderId}。` });

/** Short answers that accept an offer ("yes", "好的"). */
const YES = /^\s*(yes|yeah|yep|y|sure|ok(ay)?|please|yes please)\b|^\s*(好|是|要|可以|行|嗯|对|需要)/i;
/** Whether the visitor accepted an offer. */
export const isYes = (t: string): boolean => YES.test(t);
/** Short answers that decline it ("no", "不用"). */
const NO = /^\s*(no|nope|no thanks|not now)\b|^\s*(不|不用|不要|算了)/i;
/** Whether the visitor declined an offer. */
export const isNo = (t: string): boolean => NO.test(t);

/** "2", "the second", "第二个" → 1-based position in a list of n, else undefined. */
export function pickedPosition(t: string, n: number): number | undefined {
  const words: readonly (readonly [RegExp, number])[] = [
    [/\b(first|1st)\b|第一|第1/i, 1], [/\b(second|2nd)\b|第二|第2/i, 2], [/\b(third|3rd)\b|第三|第3/i, 3],
    [/\b(fourth|4th)\b|第四|第4/i, 4], [/\b(fifth|5th)\b|第五|第5/i, 5], [/\b(last)\b|最后/i, n],
  ];
  const digits = /^\D*?(\d{1,2})\D*$/.exec(t);
  const position = digits ? Number(digits[1]) : words.find(([re]) => re.test(t))?.[1];
  return position !== undefined && position >= 1 && position <= n ? position : undefined;
}
