// One HTTPS (or plain HTTP) POST with node:https, so a test can present a client certificate
// (fetch cannot) and see the TLS alert when the server refuses it.
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { readFileSync } from "node:fs";

export interface PostOptions {
  ca?: string;
  cert?: string;
  key?: string;
  headers?: Record<string, string>;
  body: string;
}

export interface PostResult {
  status: number;
  body: string;
}

/** Resolves with the HTTP reply; rejects with the socket or TLS error when there is none. */
export async function post(url: string, options: PostOptions): Promise<PostResult> {
  const target = new URL(url);
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return await new Promise<PostResult>((resolve, reject) => {
    const req = request(
      target,
      {
        method: "POST",
        headers: { "content-type": "application/json", ...options.headers },
        ...(options.ca ? { ca: readFileSync(options.ca) } : {}),
        ...(options.cert ? { cert: readFileSync(options.cert) } : {}),
        ...(options.key ? { key: readFileSync(options.key) } : {}),
        agent: false,
        timeout: 15_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        response.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(options.body);
  });
}
