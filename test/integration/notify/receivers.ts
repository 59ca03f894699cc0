/**
 * Local receivers for escalation notifications: an HTTP server that records webhooks (and can be told to
 * fail the first N deliveries), and a minimal SMTP server over node:net that records messages. Test-only.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

export async function startWebhookReceiver(opts: { failFirst?: number } = {}) {
  const received: ReceivedWebhook[] = [];
  let toFail = opts.failFirst ?? 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const status = toFail > 0 ? 503 : 204;
      if (toFail > 0) toFail--;
      received.push({ headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/itk3`,
    received,
    failNext(n: number) {
      toFail = n;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface ReceivedMail {
  from: string;
  to: string[];
  data: string;
}

/** Just enough SMTP (RFC 5321) for nodemailer on loopback: EHLO, MAIL, RCPT, DATA, QUIT; no STARTTLS. */
export async function startSmtpReceiver() {
  const mails: ReceivedMail[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = '';
    let inData = false;
    let mail: ReceivedMail = { from: '', to: [], data: '' };
    const say = (line: string): void => void socket.write(`${line}\r\n`);
    say('220 localhost test SMTP');
    socket.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            mails.push(mail);
            mail = { from: '', to: [], data: '' };
            say('250 OK queued');
          } else mail.data += `${line.startsWith('..') ? line.slice(1) : line}\n`;
          continue;
        }
        const cmd = line.slice(0, 4).toUpperCase();
        switch (cmd) {
          case 'EHLO':
          case 'HELO':
            say('250 localhost');
            break;
          case 'MAIL':
            mail.from = line.slice(10).trim();
            say('250 OK');
            break;
          case 'RCPT':
            mail.to.push(line.slice(8).trim());
            say('250 OK');
            break;
          case 'DATA':
            inData = true;
            say('354 end with .');
            break;
          case 'QUIT':
            say('221 bye');
            socket.end();
            break;
          case 'RSET':
          case 'NOOP':
            say('250 OK');
            break;
          default:
            say('502 not implemented');
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `smtp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    mails,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
