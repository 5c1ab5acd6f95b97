import { FerryError } from '@ferry/core';

/** A page cursor that names nothing of this account: restarting from the beginning would repeat pages silently. */
export function unknownCursor(id: string): FerryError {
  return new FerryError('VALIDATION_FAILED', `starting_after "${id.slice(0, 64)}" is not one of your items (it may have been purged); start without it`, {
    path: ['query', 'starting_after'],
  });
}
