use lcw_handler::task::{Outcome, TaskContext, TaskError, task_fn};

async fn require_sponsor(ctx: TaskContext) -> Result<Outcome, TaskError> {
    match &ctx.subject().manager {
        Some(_) => Ok(Outcome::Completed),
        None => Ok(Outcome::failed("the new hire has no manager")),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    lcw_handler::run(task_fn(require_sponsor)).await
}
