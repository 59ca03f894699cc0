// The slice of nodemailer's API that the e-mail channel uses (the package ships no types; one local
// declaration rather than a second dependency on @types/nodemailer, whose majors lag nodemailer's).
declare module 'nodemailer' {
  interface SendMailOptions {
    from: string;
    to: string | string[];
    subject: string;
    text: string;
    headers?: Record<string, string>;
    messageId?: string;
  }
  interface Transporter {
    sendMail(message: SendMailOptions): Promise<{ messageId: string; accepted: unknown[]; rejected: unknown[] }>;
    close(): void;
  }
  const nodemailer: { createTransport(urlOrOptions: string | Record<string, unknown>): Transporter };
  export default nodemailer;
}
