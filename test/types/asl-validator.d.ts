/** asl-validator 4 ships no type declarations; this is the part of its API the tests use. */
declare module 'asl-validator' {
  interface AslValidationError {
    readonly 'Error code': string;
    readonly Message: string;
  }
  interface AslValidationResult {
    readonly isValid: boolean;
    readonly errors: readonly AslValidationError[];
    errorsText(separator?: string): string;
  }
  interface AslValidatorOptions {
    /** Check JSONPath expressions (default true). */
    readonly checkPaths?: boolean;
    /** Check that a Task's Resource is an ARN (default true). */
    readonly checkArn?: boolean;
  }
  function validate(definition: unknown, options?: AslValidatorOptions): AslValidationResult;
  export = validate;
}
