import type { QueueChanges, QueueSnapshot } from "../../dev/servicebus-emulator/queue-store";

/** What the message journal holds for a queue that has never been written. */
export function emptyDisk(): QueueSnapshot<string> {
  return { nextSequenceNumber: 1, messages: [], duplicateIds: new Map() };
}

/** Folds a queue store's changes into what the message journal would hold. */
export function save(disk: QueueSnapshot<string>, changes: QueueChanges<string>): void {
  if (changes.nextSequenceNumber !== undefined) {
    disk.nextSequenceNumber = changes.nextSequenceNumber;
  }
  const gone = new Set([...changes.removed, ...changes.saved.map((m) => m.sequenceNumber)]);
  disk.messages = [...disk.messages.filter((m) => !gone.has(m.sequenceNumber)), ...changes.saved];
  for (const [messageId, forgetAt] of changes.duplicateIds) {
    if (forgetAt === undefined) disk.duplicateIds.delete(messageId);
    else disk.duplicateIds.set(messageId, forgetAt);
  }
}
