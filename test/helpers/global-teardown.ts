export default async function globalTeardown(): Promise<void> {
  const services = globalThis.__ITK3_SERVICES__ ?? [];
  await Promise.all(services.map((s) => s.stop()));
}
