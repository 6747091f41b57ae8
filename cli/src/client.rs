//! A small blocking client of a node's HTTP API for the client commands: where the node is,
//! which token to send, and how the node's `{code, message}` errors become exit codes.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use crate::{CommandError, Exit};

/// Largest response body read from a node.
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// Where the node is and how to authenticate; shared by every client command.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// The node's API base URL.
    #[arg(long, env = "RIGHTSNET_NODE", default_value = "http://127.0.0.1:7070")]
    pub node: String,
    /// The operator bearer token (for writes that sign as the node's authority).
    #[arg(long, env = "RIGHTSNET_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A file holding the operator bearer token.
    #[arg(long, env = "RIGHTSNET_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Print the node's JSON answer instead of a human summary.
    #[arg(long)]
    pub json: bool,
}

/// A client of one node.
pub struct NodeClient {
    base: String,
    token: Option<String>,
    http: reqwest::blocking::Client,
    /// Whether output should be JSON.
    pub json: bool,
}

/// A node's answer: HTTP status and JSON body.
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// JSON body (Null when empty or not JSON).
    pub body: Value,
}

impl NodeClient {
    /// A client from the shared arguments.
    pub fn new(args: &NodeArgs) -> Result<Self, CommandError> {
        let base = args.node.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() > 2048 {
            return Err(CommandError::bad_input(format!(
                "--node {base:?} is not an http(s) URL"
            )));
        }
        let token = match (&args.token, &args.token_file) {
            (Some(token), _) => Some(token.clone()),
            (None, Some(file)) => Some(
                std::fs::read_to_string(file)
                    .map_err(|error| {
                        CommandError::bad_input(format!("cannot read {}: {error}", file.display()))
                    })?
                    .trim()
                    .to_owned(),
            ),
            (None, None) => None,
        };
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|error| {
                CommandError::failure(format!("cannot build an HTTP client: {error}"))
            })?;
        Ok(Self {
            base,
            token,
            http,
            json: args.json,
        })
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> Result<Answer, CommandError> {
        let (status, bytes) = self.receive(request)?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }

    /// Sends a request; the status and at most [`MAX_RESPONSE_BYTES`] of the body.
    fn receive(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<(u16, Vec<u8>), CommandError> {
        let response = request.send().map_err(|error| {
            CommandError::failure(format!("cannot reach the node at {}: {error}", self.base))
        })?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(response, MAX_RESPONSE_BYTES),
            &mut bytes,
        )
        .map_err(|error| CommandError::failure(format!("reading the node's answer: {error}")))?;
        Ok((status, bytes))
    }

    /// GET `path` and its raw body (tiles, checkpoints: not JSON), at most
    /// [`MAX_RESPONSE_BYTES`].
    pub fn get_bytes(&self, path: &str) -> Result<(u16, Vec<u8>), CommandError> {
        self.receive(self.http.get(format!("{}{path}", self.base)))
    }

    /// GET `path`.
    pub fn get(&self, path: &str) -> Result<Answer, CommandError> {
        self.send(self.http.get(format!("{}{path}", self.base)))
    }

    /// POST `body` to `path`, with the operator token when `operator` is set.
    pub fn post(&self, path: &str, body: &Value, operator: bool) -> Result<Answer, CommandError> {
        self.post_with(path, Some(body), operator)
    }

    /// POST `body` to `path` with the operator token and one more header (`name: value`).
    pub fn post_with_header(
        &self,
        path: &str,
        body: &Value,
        (name, value): (&str, &str),
    ) -> Result<Answer, CommandError> {
        let token = self.token.as_deref().ok_or_else(|| {
            CommandError::bad_input("this command needs the operator token: --token, --token-file, RIGHTSNET_TOKEN or RIGHTSNET_TOKEN_FILE")
        })?;
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .bearer_auth(token)
            .header(name, value);
        self.send(request)
    }

    /// POST without a body, to a route that takes none (the node answers a body there with
    /// 400 `unexpected_body`).
    pub fn post_empty(&self, path: &str, operator: bool) -> Result<Answer, CommandError> {
        self.post_with(path, None, operator)
    }

    fn post_with(
        &self,
        path: &str,
        body: Option<&Value>,
        operator: bool,
    ) -> Result<Answer, CommandError> {
        let mut request = self.http.post(format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        if operator {
            let token = self.token.as_deref().ok_or_else(|| {
                CommandError::bad_input("this command needs the operator token: --token, --token-file, RIGHTSNET_TOKEN or RIGHTSNET_TOKEN_FILE")
            })?;
            request = request.bearer_auth(token);
        }
        self.send(request)
    }

    /// `method` (`PUT`, `DELETE`, …) to `path` with the operator token, and `body` when given.
    pub fn send_operator(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, CommandError> {
        let token = self.token.as_deref().ok_or_else(|| {
            CommandError::bad_input("this command needs the operator token: --token, --token-file, RIGHTSNET_TOKEN or RIGHTSNET_TOKEN_FILE")
        })?;
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request)
    }

    /// GET with the operator token.
    pub fn get_operator(&self, path: &str) -> Result<Answer, CommandError> {
        let token = self.token.as_deref().ok_or_else(|| {
            CommandError::bad_input("this command needs the operator token: --token, --token-file, RIGHTSNET_TOKEN or RIGHTSNET_TOKEN_FILE")
        })?;
        self.send(
            self.http
                .get(format!("{}{path}", self.base))
                .bearer_auth(token),
        )
    }
}

impl Answer {
    /// Turns an error answer into the command's error: 4xx → exit 2 with the node's code and
    /// message, 5xx → exit 3.
    pub fn ok(self) -> Result<Value, CommandError> {
        if (200..300).contains(&self.status) {
            return Ok(self.body);
        }
        let code = self.body["code"].as_str().unwrap_or("error");
        let message = self.body["message"].as_str().unwrap_or("no message");
        let text = format!("node answered HTTP {} {code}: {message}", self.status);
        Err(if self.status >= 500 {
            CommandError::failure(text)
        } else {
            CommandError::bad_input(text)
        })
    }
}

/// Prints a JSON value, pretty, on standard output.
pub fn print_json(value: &Value) -> Result<Exit, CommandError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|error| CommandError::failure(format!("encoding output: {error}")))?;
    println!("{text}");
    Ok(Exit::Ok)
}

/// Renders rows as an aligned table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = line(header.iter().map(|h| (*h).to_owned()).collect());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.clone()));
        out.push('\n');
    }
    out
}

/// A JSON value as short text for a table cell.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}
