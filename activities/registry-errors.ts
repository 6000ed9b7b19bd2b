// Kept apart from the activities so that workflow code can name these without bundling npm-registry-fetch.
/** Failure types the workflow must not retry: the registry gave a definite answer. */
export const NON_RETRYABLE_REGISTRY_ERRORS = ['RegistryAuthError', 'RegistryOtpRequired', 'PackageNotFound', 'RegistryRejected'] as const;
