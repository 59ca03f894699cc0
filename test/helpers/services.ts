/** What the jest global setup started, for integration and e2e tests. */
export interface TestServices {
  temporalAddress: string;
  namespace: string;
  meshUrl: string;
  meshSharedKey: string;
  dir: string;
}

export function testServices(): TestServices {
  const get = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: run this test through the jest 'integration' project (global setup starts the services)`);
    return value;
  };
  return {
    temporalAddress: get('ITK3_TEST_TEMPORAL_ADDRESS'),
    namespace: get('ITK3_TEST_TEMPORAL_NAMESPACE'),
    meshUrl: get('ITK3_TEST_MESH_URL'),
    meshSharedKey: get('ITK3_TEST_MESH_SHARED_KEY'),
    dir: get('ITK3_TEST_DIR'),
  };
}
