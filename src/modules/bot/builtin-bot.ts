import type { DialogueState } from './builtin/dialogue.types.ts';
import { createDialogueBot } from './builtin/builtin-bot.ts';
import type { CreateBuiltinBot } from './builtin-bot.types.ts';
import { classify } from './classify.ts';

/** The built-in dialogue bot over the runtime's deps: its memory is the bot memory, its FAQ the knowledge file's, its classification routing's. */
export const createBuiltinBot: CreateBuiltinBot = (deps) => createDialogueBot({
  understand: deps.knowledge.understand,
  catalogue: deps.catalogue,
  faq: (id, lang) => deps.knowledge.faqAnswer(id, lang),
  memory: {
    load: async (conversationId) => (await deps.memory.get(conversationId)) as DialogueState | undefined,
    save: (conversationId, state) => deps.memory.set(conversationId, state),
  },
  classify,
  ...(deps.understood ? { understood: deps.understood } : {}),
  now: deps.now,
});
