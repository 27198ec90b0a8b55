/**
 * The programs the operations run in the sandbox. Each is the body of an async function that
 * reads `params`, calls the Sentry MCP server through its global (`sentry.search_issues(...)`)
 * and returns only what the caller needs. The Sentry MCP server answers most tools in
 * Markdown, so the helpers below parse the few fields each operation keeps; the rest of each
 * (often very large) answer never leaves the sandbox.
 *
 * Written as plain JavaScript (no syntax a QuickJS or older engine lacks), so every sandbox
 * mode runs them. `${server}` is the upstream's global identifier.
 */

/** Parsers shared by the programs; kept in the guest so large answers stay there. */
const HELPERS = String.raw`
const field = (md, label) => {
  const m = new RegExp("\\*\\*" + label + "\\*\\*: ([^\\n]*)").exec(md);
  return m ? m[1].trim() : null;
};
const num = (v) => (v == null || v === "" || isNaN(Number(v)) ? null : Number(v));
const text = (r) => (typeof r === "string" ? r : JSON.stringify(r));
const parseIssueList = (md) => {
  const out = [];
  const re = /^## \d+\. \[([^\]]+)\]\(([^)]+)\)\n\n\*\*(.*)\*\*\n([\s\S]*?)(?=\n## |(?![\s\S]))/gm;
  let m;
  while ((m = re.exec(md))) {
    const body = m[4];
    const get = (label) => {
      const x = new RegExp("- \\*\\*" + label + "\\*\\*: ([^\\n]*)").exec(body);
      return x ? x[1].trim() : null;
    };
    const culprit = get("Culprit");
    out.push({
      id: m[1],
      title: m[3],
      status: get("Status"),
      events: num(get("Events")),
      users: num(get("Users")),
      assignedTo: get("Assigned to"),
      lastSeen: get("Last seen"),
      culprit: culprit ? culprit.replace(/^\x60|\x60$/g, "") : null,
    });
  }
  const found = /Found \*\*(\d+)\*\* issue/.exec(md);
  return { issues: out, found: found ? Number(found[1]) : out.length };
};
const parseFrame = (line) => {
  if (!line) return null;
  const t = line.trim();
  let m = /^File "(.+)", line (\d+), in (.+)$/.exec(t);
  if (m) return { file: m[1], line: Number(m[2]), function: m[3] };
  m = /^at ([\w.$]+)\.([\w$<>]+)\((.+?)(?::(\d+))?\)$/.exec(t);
  if (m) return { file: m[3], line: m[4] ? Number(m[4]) : null, function: m[1] + "." + m[2] };
  m = /^(?:from )?(.+?):(\d+)(?::(\d+))?(?::in)?(?: \(?\x60?([^)\x60]+)\x60?\)?)?$/.exec(t);
  if (m) return { file: m[1], line: Number(m[2]), function: m[4] || null };
  m = /^at (.+) \((.+?)(?::(\d+))?(?::\d+)?\)$/.exec(t);
  if (m) return { file: m[2], line: m[3] ? Number(m[3]) : null, function: m[1] };
  return { file: null, line: null, function: null, text: t };
};
const isFrameHeader = (line) =>
  /^\s*File ".+", line \d+/.test(line) || /^\s*at [\w.$]+\(/.test(line) || /^\s*at .+ \(.+\)$/.test(line) ||
  /^[^\s].*:\d+(:\d+)?( \(.+\))?$/.test(line) || /^\s+from .+:\d+/.test(line);
const stackFrames = (md) => {
  const start = md.search(/\*\*(Full )?Stacktrace:\*\*/);
  if (start < 0) return [];
  const block = /\x60\x60\x60\n([\s\S]*?)\n\x60\x60\x60/.exec(md.slice(start));
  if (!block) return [];
  return block[1].split("\n").filter(isFrameHeader).map(parseFrame);
};
const topFrame = (md) => {
  const m = /\*\*Most Relevant Frame:\*\*\n─+\n([^\n]+)/.exec(md);
  if (m) return parseFrame(m[1]);
  const frames = stackFrames(md);
  return frames.length ? frames[frames.length - 1] : null;
};
const exception = (md) => {
  const m = /### Error\n\n\x60\x60\x60\n([^\n]*)\n\x60\x60\x60/.exec(md);
  return m ? m[1] : null;
};
`;

export function triageProgram(server: string): string {
  return `${HELPERS}
const list = await ${server}.search_issues({
  organizationSlug: params.organization,
  projectSlugOrId: params.project,
  query: "is:unresolved",
  sort: "freq",
  limit: params.limit,
  period: params.period,
});
const { issues } = parseIssueList(text(list));
const details = await Promise.all(
  issues.map((issue) =>
    ${server}.get_sentry_resource({ organizationSlug: params.organization, resourceType: "issue", resourceId: issue.id }),
  ),
);
return {
  organization: params.organization,
  project: params.project,
  period: params.period,
  issues: issues.map((issue, i) => ({
    id: issue.id,
    title: issue.title,
    events: issue.events,
    users: issue.users,
    lastSeen: issue.lastSeen,
    assignedTo: issue.assignedTo,
    culprit: issue.culprit,
    topFrame: topFrame(text(details[i])),
  })),
};`;
}

export function issueDigestProgram(server: string): string {
  return String.raw`${HELPERS}
const md = text(await ${server}.get_sentry_resource({
  organizationSlug: params.organization,
  resourceType: "issue",
  resourceId: params.issueId,
}));
const frames = stackFrames(md);
const appFrames = frames.filter((f) => f.file && !/node_modules|site-packages|django\/|org\.springframework|org\.apache/.test(f.file + " " + f.function));
return {
  id: params.issueId,
  title: field(md, "Description"),
  exception: exception(md),
  culprit: field(md, "Culprit"),
  status: field(md, "Status"),
  substatus: field(md, "Substatus"),
  platform: field(md, "Platform"),
  project: field(md, "Project"),
  events: num(field(md, "Occurrences")),
  users: num(field(md, "Users Impacted")),
  firstSeen: field(md, "First Seen"),
  lastSeen: field(md, "Last Seen"),
  url: field(md, "URL"),
  topFrame: topFrame(md),
  frames: appFrames.slice(-params.frames).reverse(),
  totalFrames: frames.length,
};`;
}

export function releaseHealthProgram(server: string): string {
  return String.raw`${HELPERS}
let version = params.release;
if (!version) {
  const found = await ${server}.execute_sentry_tool({
    name: "find_releases",
    arguments: { organizationSlug: params.organization, projectSlug: params.project },
  });
  const releases = (found && found.releases) || [];
  if (!releases.length) return { organization: params.organization, project: params.project, release: null };
  version = releases[0].version;
}
const [detailsRaw, issuesRaw] = await Promise.all([
  ${server}.execute_sentry_tool({
    name: "get_release_details",
    arguments: {
      organizationSlug: params.organization,
      releaseVersion: version,
      projectSlugOrId: params.project,
      includeHealth: true,
      includeCommits: false,
      limit: 1,
    },
  }),
  params.topIssues > 0
    ? ${server}.search_issues({
        organizationSlug: params.organization,
        projectSlugOrId: params.project,
        query: "is:unresolved release:" + version,
        sort: "freq",
        limit: params.topIssues,
        period: "90d",
      })
    : "",
]);
const md = text(detailsRaw);
const meta = (key) => {
  const m = new RegExp("- \\*\\*" + key + "\\*\\*: ([^\\n]*)").exec(md);
  return m ? m[1].trim() : null;
};
let adoptionStage = null;
try {
  const stages = JSON.parse(meta("adoptionStages") || "null");
  const first = stages && Object.keys(stages)[0];
  adoptionStage = first ? { environment: first, stage: stages[first].stage || null } : null;
} catch {}
const deploy = /### Deploy [^\n]*\n\n([\s\S]*?)(?=\n### |\n## |$)/.exec(md);
const { issues, found } = parseIssueList(text(issuesRaw));
return {
  organization: params.organization,
  project: params.project,
  release: version,
  released: field(md, "Released"),
  newIssues: num(field(md, "New Issues")),
  crashFreeSessions: num(meta("crashFreeSessions")),
  crashFreeUsers: num(meta("crashFreeUsers")),
  totalSessions: num(meta("totalSessions")),
  adoption: num(meta("adoption")),
  adoptionStage,
  lastDeploy: deploy ? { environment: field(deploy[1], "Environment"), finished: field(deploy[1], "Finished") } : null,
  unresolvedIssues: found,
  topIssues: issues.map((i) => ({ id: i.id, title: i.title, events: i.events, users: i.users })),
};`;
}

export function updateIssueProgram(server: string, change: "resolve" | "assign"): string {
  const args =
    change === "resolve"
      ? `organizationSlug: params.organization, issueId: params.issueId, status: "resolved"`
      : `organizationSlug: params.organization, issueId: params.issueId, assignedTo: params.assignee`;
  return `${HELPERS}
const md = text(await ${server}.update_issue({ ${args} }));
const current = md.slice(Math.max(0, md.indexOf("## Current Status")));
const assigned = field(current, "Assigned To");
return {
  id: params.issueId,
  status: field(current, "Status"),
  assignedTo: assigned === "Unassigned" ? null : assigned,
};`;
}
