let nextId = 1;

/** What one stateless `execute_code` request answered. */
export interface ExecuteAnswer {
  status: number;
  retryAfter: string | null;
  body: {
    result?: { content: { text: string }[]; isError?: boolean };
    error?: { code: number; message: string; data?: Record<string, unknown> };
  };
}

/** One execute_code call as a 2025-era stateless request (no MCP session), with a bearer key. */
export async function executeCode(url: string, key: string, code: string): Promise<ExecuteAnswer> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-06-18",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: nextId++,
      method: "tools/call",
      params: { name: "execute_code", arguments: { code } },
    }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    body: (await response.json()) as ExecuteAnswer["body"],
  };
}
