/** The fault-injecting MESH proxy now lives with the chaos scripts (generalised there); tests keep this import path. */
export * from '../../../scripts/chaos/fault-proxy';
