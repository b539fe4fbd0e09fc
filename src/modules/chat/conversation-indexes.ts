import type { ConversationState } from './conversation.types.ts';

/** The list indexes a conversation is in: each of them names one filter of `list`. */
export function indexesOf(state: ConversationState): string[] {
  if (state.status === 'none') return [];
  const open = state.status !== 'closed';
  return [
    'all', `state:${state.status}`, ...(open ? ['open'] : []),
    ...(state.agentId === undefined ? [] : [`agent:${state.agentId}`]),
    ...(state.group === undefined ? [] : [`group:${state.group}`]),
    ...(state.visitor?.customerId === undefined ? [] : [`customer:${state.visitor.customerId}`]),
    ...(state.visitor === undefined ? [] : [`visitor:${state.visitor.id}`, ...(open ? [`open:visitor:${state.visitor.id}`] : [])]),
  ];
}
