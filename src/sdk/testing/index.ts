/**
 * The connector test kit, as `omnigate/sdk/testing`: what a connector's own tests import to run
 * against a real backend. See docs/connector-guide.md, "Testing your connector".
 */
export { startFaultProxy, DEFAULT_FAULT_LATENCY_MS, DEFAULT_FAULT_PROXY_MAX_CONNECTIONS, MAX_FAULT_LATENCY_MS } from './fault-proxy.ts';
export type { Fault, FaultKind, FaultProxy, FaultProxyOptions, FaultProxyStats } from './fault-proxy.ts';
export { canonicalSchemas, configFromEnv, createTestContexts, CANONICAL_SCHEMAS_DIR } from './context.ts';
export type { TestContextOptions, TestContexts } from './context.ts';
export { describeConformance, DEFAULT_ABORT_SETTLE_LIMIT_MS, DEFAULT_CALL_LIMIT_MS } from './conformance.ts';
export type { CapabilitySample, ConformanceOptions } from './conformance.ts';
export { describeError, outcomeOf, type Outcome } from './outcome.ts';
export { createConsumerContract, verifyContract, CONTRACTS_UPDATE_ENV, DEFAULT_PACT_VERIFIER_PORT, PACT_VERIFIER_PORT_ENV } from './contract.ts';
export type { ConsumerContract, ConsumerContractOptions, ContractConfig, ContractVerification, VerifyContractOptions } from './contract.ts';
export type { ProviderStateFn, ProviderStateHandler, ReplayedRequest, RequestFilter } from './verification-proxy.ts';
export { PactMissingError, PACT_PACKAGE } from './pact-loader.ts';
