/**
 * The base class of every error that describes a user's mistake (a bad config or option value, a
 * missing or unreadable file, an emulator that cannot start): the message says what was wrong and
 * what to do, so the CLI shows it as it is, on one line, with exit code 1 (`cli/errors.ts`). Any
 * other error is a bug. Subclasses set their own `name`.
 *
 * It lives in contract/ so that every layer above core/ can raise one and the CLI can recognise it
 * with `instanceof`, not by a list of class names.
 */
export class UserError extends Error {
  public override readonly name: string = 'UserError';
}
