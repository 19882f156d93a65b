//! The benchmark's baseline: the floor of this stack on this machine, measured in the same run as
//! the product's pages. One minimal axum handler, no session, no middleware: one query for the
//! 150 rows of a table of its own, over the same socket the product uses, rendered through an
//! askama table.
//! Not part of the product; `bench/run` builds and starts it.
//!
//! Usage: bench_baseline <address> <socket folder>

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[derive(sqlx::FromRow)]
struct Row {
    id: i32,
    name: String,
    score: i32,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = "<!DOCTYPE html><html lang=\"en\"><head><title>Baseline</title></head><body><table><caption>Rows</caption><thead><tr><th>Id</th><th>Name</th><th>Score</th></tr></thead><tbody>{% for r in rows %}<tr><td>{{ r.id }}</td><td>{{ r.name }}</td><td>{{ r.score }}</td></tr>{% endfor %}</tbody></table></body></html>"
)]
struct Page {
    rows: Vec<Row>,
}

async fn page(State(pool): State<PgPool>) -> impl IntoResponse {
    let rows: Vec<Row> = sqlx::query_as("SELECT id, name, score FROM bench_baseline ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap_or_default();
    let body = Page { rows }.render().unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:3918".into());
    let socket = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("give the socket folder"))?;
    let options = PgConnectOptions::new()
        .socket(socket)
        .username("postgres")
        .database("postgres");
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect_with(options)
        .await?;
    // Its own table of 150 rows, in the server's default database (not the product's).
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS bench_baseline (id int PRIMARY KEY, name text NOT NULL, score int NOT NULL);
         INSERT INTO bench_baseline SELECT g, 'School number ' || g, (g * 37) % 100 FROM generate_series(1, 150) g
         ON CONFLICT (id) DO NOTHING;
         ANALYZE bench_baseline;",
    )
    .execute(&pool)
    .await?;
    let app = Router::new().route("/", get(page)).with_state(pool);
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
