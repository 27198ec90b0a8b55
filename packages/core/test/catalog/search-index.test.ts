import { describe, expect, test } from "vitest";
import { createSearchIndex, type SearchDocument } from "../../src/catalog/search-index.js";
import { intentFit, queryIntents, toolIntents } from "../../src/catalog/search-intent.js";
import { expandQuery, searchTokens, stem } from "../../src/catalog/search-text.js";

const p = (...names: string[]) => names.map((name) => ({ name }));
const tool = (
  server: string,
  name: string,
  description: string,
  params: { name: string; description?: string }[] = [],
): SearchDocument => ({
  id: `${server}.${name}`,
  server,
  name,
  description,
  params,
});

/** A realistic corpus: the kinds of tools GitHub, Sentry, filesystem, memory and Slack servers expose. */
const CORPUS: SearchDocument[] = [
  tool(
    "github",
    "create_pull_request",
    "Create a new pull request in a GitHub repository.",
    p("owner", "repo", "title", "head", "base", "body", "draft"),
  ),
  tool(
    "github",
    "list_pull_requests",
    "List pull requests in a repository.",
    p("owner", "repo", "state", "sort"),
  ),
  tool(
    "github",
    "merge_pull_request",
    "Merge a pull request.",
    p("owner", "repo", "pullNumber", "mergeMethod"),
  ),
  tool(
    "github",
    "get_pull_request_files",
    "Get the list of files changed in a pull request.",
    p("owner", "repo", "pullNumber"),
  ),
  tool(
    "github",
    "create_issue",
    "Create a new issue in a GitHub repository.",
    p("owner", "repo", "title", "body", "assignees", "labels"),
  ),
  tool(
    "github",
    "list_issues",
    "List issues in a repository with filtering options.",
    p("owner", "repo", "state", "labels", "assignee", "since"),
  ),
  tool(
    "github",
    "search_issues",
    "Search for issues and pull requests across GitHub repositories, e.g. assigned to a user.",
    p("q", "sort", "order"),
  ),
  tool(
    "github",
    "update_issue",
    "Update an existing issue.",
    p("owner", "repo", "issue_number", "state", "title"),
  ),
  tool(
    "github",
    "add_issue_comment",
    "Add a comment to an existing issue.",
    p("owner", "repo", "issue_number", "body"),
  ),
  tool(
    "github",
    "get_file_contents",
    "Get the contents of a file or directory from a GitHub repository.",
    p("owner", "repo", "path", "branch"),
  ),
  tool(
    "github",
    "create_or_update_file",
    "Create or update a single file in a repository.",
    p("owner", "repo", "path", "content", "message", "branch", "sha"),
  ),
  tool(
    "github",
    "push_files",
    "Push multiple files to a repository in a single commit.",
    p("owner", "repo", "branch", "files", "message"),
  ),
  tool(
    "github",
    "search_repositories",
    "Search for GitHub repositories.",
    p("query", "page", "perPage"),
  ),
  tool(
    "github",
    "create_repository",
    "Create a new GitHub repository in your account.",
    p("name", "description", "private"),
  ),
  tool(
    "github",
    "fork_repository",
    "Fork a GitHub repository to your account or organization.",
    p("owner", "repo", "organization"),
  ),
  tool(
    "github",
    "create_branch",
    "Create a new branch in a repository.",
    p("owner", "repo", "branch", "from_branch"),
  ),
  tool(
    "github",
    "list_commits",
    "Get list of commits of a branch in a repository.",
    p("owner", "repo", "sha", "page"),
  ),
  tool("github", "search_code", "Search for code across GitHub repositories.", p("q", "page")),
  tool("github", "get_me", "Get details of the authenticated user.", []),
  tool(
    "sentry",
    "find_organizations",
    "Find organizations that the user has access to in Sentry.",
    [],
  ),
  tool("sentry", "find_projects", "Find projects in Sentry.", p("organizationSlug")),
  tool(
    "sentry",
    "search_issues",
    "Search for grouped issues (errors) in Sentry using natural language.",
    p("organizationSlug", "naturalLanguageQuery", "projectSlugOrId"),
  ),
  tool(
    "sentry",
    "get_issue_details",
    "Get detailed information about a specific Sentry issue, including the stack trace.",
    p("organizationSlug", "issueId"),
  ),
  tool(
    "sentry",
    "update_issue",
    "Update an issue's status or assignment in Sentry: resolve, ignore, assign.",
    p("organizationSlug", "issueId", "status", "assignedTo"),
  ),
  tool(
    "sentry",
    "find_releases",
    "Find releases in Sentry.",
    p("organizationSlug", "projectSlug", "query"),
  ),
  tool(
    "sentry",
    "search_events",
    "Search for error events and aggregate counts in Sentry.",
    p("organizationSlug", "naturalLanguageQuery"),
  ),
  tool("sentry", "find_teams", "Find teams in an organization in Sentry.", p("organizationSlug")),
  tool(
    "files",
    "read_text_file",
    "Read the complete contents of a file from the file system as text.",
    p("path", "head", "tail"),
  ),
  tool(
    "files",
    "read_multiple_files",
    "Read the contents of multiple files simultaneously.",
    p("paths"),
  ),
  tool(
    "files",
    "write_file",
    "Create a new file or completely overwrite an existing file with new content.",
    p("path", "content"),
  ),
  tool("files", "edit_file", "Make line-based edits to a text file.", p("path", "edits", "dryRun")),
  tool(
    "files",
    "create_directory",
    "Create a new directory or ensure a directory exists.",
    p("path"),
  ),
  tool(
    "files",
    "list_directory",
    "Get a detailed listing of all files and directories in a specified path.",
    p("path"),
  ),
  tool(
    "files",
    "directory_tree",
    "Get a recursive tree view of files and directories as a JSON structure.",
    p("path"),
  ),
  tool("files", "move_file", "Move or rename files and directories.", p("source", "destination")),
  tool(
    "files",
    "search_files",
    "Recursively search for files and directories matching a pattern.",
    p("path", "pattern", "excludePatterns"),
  ),
  tool(
    "files",
    "get_file_info",
    "Retrieve detailed metadata about a file or directory: size, times, permissions.",
    p("path"),
  ),
  tool(
    "memory",
    "create_entities",
    "Create multiple new entities in the knowledge graph.",
    p("entities"),
  ),
  tool(
    "memory",
    "create_relations",
    "Create multiple new relations between entities in the knowledge graph.",
    p("relations"),
  ),
  tool(
    "memory",
    "add_observations",
    "Add new observations to existing entities in the knowledge graph.",
    p("observations"),
  ),
  tool(
    "memory",
    "delete_entities",
    "Delete multiple entities and their associated relations from the knowledge graph.",
    p("entityNames"),
  ),
  tool(
    "memory",
    "delete_observations",
    "Delete specific observations from entities in the knowledge graph.",
    p("deletions"),
  ),
  tool(
    "memory",
    "delete_relations",
    "Delete multiple relations from the knowledge graph.",
    p("relations"),
  ),
  tool("memory", "read_graph", "Read the entire knowledge graph.", []),
  tool(
    "memory",
    "search_nodes",
    "Search for nodes in the knowledge graph based on a query.",
    p("query"),
  ),
  tool(
    "memory",
    "open_nodes",
    "Open specific nodes in the knowledge graph by their names.",
    p("names"),
  ),
  tool(
    "slack",
    "slack_post_message",
    "Post a new message to a Slack channel.",
    p("channel_id", "text"),
  ),
  tool(
    "slack",
    "slack_reply_to_thread",
    "Reply to a specific message thread in Slack.",
    p("channel_id", "thread_ts", "text"),
  ),
  tool(
    "slack",
    "slack_list_channels",
    "List public channels in the workspace.",
    p("limit", "cursor"),
  ),
  tool(
    "slack",
    "slack_get_channel_history",
    "Get recent messages from a channel.",
    p("channel_id", "limit"),
  ),
  tool(
    "slack",
    "slack_add_reaction",
    "Add a reaction emoji to a message.",
    p("channel_id", "timestamp", "reaction"),
  ),
  tool(
    "slack",
    "slack_get_users",
    "Get a list of all users in the workspace with their basic profile information.",
    p("cursor", "limit"),
  ),
];

describe("searchTokens", () => {
  test("splits identifiers of every style and reduces words to their Porter stems", () => {
    expect(searchTokens("listIssues")).toEqual(searchTokens("list issue"));
    expect(searchTokens("get-pull_request.files/HTTPServer")).toEqual(
      ["get", "pull", "request", "files", "http", "server"].map(stem),
    );
    expect(searchTokens("the issues of a repo")).toEqual([stem("issues"), "repo"]);
    expect(stem("listing")).toBe(stem("list"));
    expect(stem("entities")).toBe(stem("entity"));
    expect(stem("branches")).toBe(stem("branch"));
    expect(stem("status")).not.toBe(stem("state"));
  });

  test("a request's words bring their thesaurus words at a lower weight; abbreviations nearly in full", () => {
    const concepts = new Map(
      expandQuery("remove the PR folder").map((c) => [
        c.term,
        new Map(c.alternatives.map((a) => [a.term, a.weight])),
      ]),
    );
    expect([...concepts.keys()]).toEqual([stem("remove"), "pr", stem("folder")]);
    expect(concepts.get(stem("remove"))!.get(stem("remove"))).toBe(1);
    expect(concepts.get(stem("remove"))!.get(stem("delete"))).toBeLessThan(1);
    expect(concepts.get(stem("folder"))!.get(stem("directory"))).toBeLessThan(1);
    expect(concepts.get("pr")!.get(stem("pull"))).toBeGreaterThan(
      concepts.get(stem("remove"))!.get(stem("delete"))!,
    );
  });
});

describe("intents", () => {
  test("a request's leading verb, a tool's verb from its name, description and annotations", () => {
    expect(queryIntents("open a github issue about the crash")).toContain("create");
    expect(queryIntents("remove the stale branch")).toEqual(["delete"]);
    expect(toolIntents("API-retrieve-a-page", "Notion | Retrieve a page", undefined)).toEqual([
      "read",
    ]);
    expect(toolIntents("drop-collection", undefined, { destructiveHint: true })).toContain(
      "delete",
    );
    expect(toolIntents("weird_name", "Does things", { readOnlyHint: true })).toEqual(["read"]);
    expect(intentFit(["create"], ["delete"])).toBe(-1);
    expect(intentFit(["read"], ["list"])).toBe(0.5);
    expect(intentFit([], ["list"])).toBe(0);
  });

  test("the verb decides between tools that share their noun", () => {
    const index = createSearchIndex(CORPUS);
    const first = (q: string) => index.search(q, { limit: 1 })[0]?.id;
    expect(first("open a new github issue about the crash")).toBe("github.create_issue");
    expect(first("remove the entity Phoenix from the graph")).toBe("memory.delete_entities");
    expect(first("which pull requests are still open")).toBe("github.list_pull_requests");
  });

  test("a question reads: its verbs describe the thing, they do not say what to do", () => {
    expect(queryIntents("what processes are running on my machine")).toEqual([
      "read",
      "list",
      "search",
    ]);
    expect(queryIntents("did the last deploy run pass")).toContain("read");
    expect(queryIntents("run the build script")).toEqual(["run"]);
    const index = createSearchIndex([
      tool("shell", "start_process", "Start a new process running a command."),
      tool(
        "shell",
        "list_processes",
        "List the running processes on the machine with their CPU use.",
      ),
      tool("shell", "read_file", "Read a file from the machine."),
      tool("shell", "write_file", "Write a file on the machine."),
      tool("shell", "list_sessions", "List the open terminal sessions."),
    ]);
    expect(index.search("what processes are running", { limit: 1 })[0]?.id).toBe(
      "shell.list_processes",
    );
    expect(index.search("start a process running the tests", { limit: 1 })[0]?.id).toBe(
      "shell.start_process",
    );
  });

  test("a word as written in the tool's name counts: the plural asks for many, the singular for one", () => {
    // Same stems, no verb in the requests: only the written form tells them apart.
    const index = createSearchIndex([
      tool("tracker", "tracker_issue", "Items of the tracker."),
      tool("tracker", "tracker_issues", "Items of the tracker."),
      tool("tracker", "tracker_labels", "Labels of the tracker."),
    ]);
    expect(index.search("tracker issues", { limit: 1 })[0]?.id).toBe("tracker.tracker_issues");
    expect(index.search("tracker issue 482", { limit: 1 })[0]?.id).toBe("tracker.tracker_issue");
  });
});

describe("createSearchIndex", () => {
  const index = createSearchIndex(CORPUS);
  const top = (q: string, n = 3, server?: string) =>
    index.search(q, { limit: n, ...(server ? { server } : {}) }).map((h) => h.id);

  test.each([
    ["create a pull request", "github.create_pull_request", 1],
    ["read file", "files.read_text_file", 3],
    ["search issues assigned to me", "github.search_issues", 3],
    ["delete entity", "memory.delete_entities", 1],
    ["post message to channel", "slack.slack_post_message", 1],
    ["resolve sentry issue", "sentry.update_issue", 3],
    ["stack trace of an error", "sentry.get_issue_details", 3],
    ["rename file", "files.move_file", 1],
    ["listIssues", "github.list_issues", 1],
    ["knowledge graph", "memory.read_graph", 3],
  ])("%j finds %s in the top %i", (query, expected, n) => {
    expect(top(query, n)).toContain(expected);
  });

  test("naming a server boosts its tools; a server filter keeps only its tools", () => {
    expect(top("sentry issues", 1)[0]).toMatch(/^sentry\./);
    expect(top("github issues", 1)[0]).toMatch(/^github\./);
    expect(top("issues", 10, "sentry").every((id) => id.startsWith("sentry."))).toBe(true);
  });

  test("empty and stop-word queries find nothing; results are deterministic", () => {
    expect(index.search("")).toEqual([]);
    expect(index.search("the of and")).toEqual([]);
    expect(index.search("file")).toEqual(index.search("file"));
  });

  test("builds over 5,000 tools and searches fast", () => {
    const big: SearchDocument[] = [];
    for (let i = 0; i < 5000; i++) {
      const base = CORPUS[i % CORPUS.length]!;
      big.push({ ...base, id: `${base.id}_${i}`, server: `${base.server}${i % 50}` });
    }
    const t0 = performance.now();
    const large = createSearchIndex(big);
    const built = performance.now() - t0;
    const t1 = performance.now();
    const queries = [
      "create pull request",
      "read file",
      "delete entity",
      "post message",
      "search issues",
    ];
    for (let i = 0; i < 100; i++) large.search(queries[i % queries.length]!);
    const perQuery = (performance.now() - t1) / 100;
    console.log(
      `search index: built 5,000 tools in ${built.toFixed(0)} ms, ${perQuery.toFixed(2)} ms per query`,
    );
    // Loose bounds: they catch a quadratic regression, not a busy machine (figures: bench/search).
    expect(built).toBeLessThan(20_000);
    expect(perQuery).toBeLessThan(500);
  });
});
