/**
 * What the console may do to dead letters, and what each costs. A redrive is safe (every consumer is idempotent).
 * A discard is not: a letter of a rule still on the bus is a promise not yet kept, and discarding it breaks that
 * promise for good (an order never archived, a subscriber never told, an OrderAccepted never relayed). So a discard
 * names its consequence and asks for a confirmation, except for the letters of rules no longer on the bus, which
 * nothing can deliver any more and which go freely. Every action is kept in the console's audit (console-store).
 */
import { describeOrigin, type DeadLetter } from '../eventbridge/events-database.js';
import { ARCHIVE_RULE_NAME } from '../eventbridge/local-events.js';

/** A group of letters the console acts on at once: one rule's (`rule:NAME`), the stream's, or the removed rules'. */
export type LetterGroup = `rule:${string}` | 'stream' | 'removed';

export const groupOf = (letter: DeadLetter): LetterGroup =>
  letter.origin.kind === 'rule' ? `rule:${letter.origin.ruleName}` : 'stream';

export const parseGroup = (text: string | null): LetterGroup | undefined =>
  text === 'stream' || text === 'removed' || (text?.startsWith('rule:') && text.length > 5)
    ? (text as LetterGroup)
    : undefined;

/** Whether nothing can deliver the letter any more: its rule is no longer on the running bus. */
export const isOfRemovedRule = (letter: DeadLetter, liveRules: readonly string[]): boolean =>
  letter.origin.kind === 'rule' && !liveRules.includes(letter.origin.ruleName);

export const inGroup = (letter: DeadLetter, group: LetterGroup, liveRules: readonly string[]): boolean =>
  group === 'removed' ? isOfRemovedRule(letter, liveRules) : groupOf(letter) === group;

export function describeGroup(group: LetterGroup): string {
  if (group === 'removed') return 'rules no longer on the bus';
  if (group === 'stream') return 'the outbox relay (the table’s stream)';
  return `rule ${group.slice('rule:'.length)}`;
}

/** What is lost for good if this letter is discarded rather than delivered; undefined when nothing is. */
export function consequenceOf(letter: DeadLetter, liveRules: readonly string[]): string | undefined {
  if (isOfRemovedRule(letter, liveRules)) return undefined;
  if (letter.origin.kind === 'stream') {
    return (
      'The outbox relay never publishes this order’s OrderAccepted: unless the workflow’s fast path published it, ' +
      'no consumer is ever told of the order (not the archive, not any subscriber).'
    );
  }
  if (letter.origin.ruleName === ARCHIVE_RULE_NAME) {
    return 'The order stays unarchived: the archive consumer never gets this event again, so no archive object is written for it.';
  }
  return `${describeOrigin(letter.origin)} never gets this event: its subscriber is never told of the order.`;
}
