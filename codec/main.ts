/** Codec server process: config -> logger -> codec -> HTTP server (started by `npm run up`). */
import { Authenticator } from '../client/auth';
import { loadConfigOrExit } from '../config/env';
import { createLogger } from '../config/logger';
import { AesGcmPayloadCodec } from '../payload-codec/aes-gcm-codec';
import { buildCodecServer } from './codec-server';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.env.LOG_LEVEL, name: 'itk3-codec-server' });
  const auth = new Authenticator(config.apiTokens, config.clientCertRoles);
  if (auth.empty) logger.warn('no ITK3_API_TOKENS configured: every codec request will be refused');
  const app = buildCodecServer({
    codec: new AesGcmPayloadCodec(config.codecKeys),
    auth,
    allowedOrigins: config.env.ITK3_CODEC_CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
    logger,
    bodyLimitBytes: config.env.ITK3_CODEC_BODY_LIMIT,
    // The same keys the workers verify with: updates sent from the Web UI then carry a verified actor.
    actorKeys: config.actorKeys,
  });
  await app.listen({ host: config.env.ITK3_CODEC_SERVER_HOST, port: config.env.ITK3_CODEC_SERVER_PORT });
  const stop = async (): Promise<void> => {
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err) => {
  process.stderr.write(`codec server failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
