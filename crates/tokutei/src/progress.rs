//! The import's progress bar (indicatif, on stderr, drawn only when stderr is a terminal), fed
//! by the application layer's progress callback: `subscribers import` and `demo` show it.

use tokutei_app::import::ImportProgress;

/// Run an import with a bar on stderr when `visible`.
pub fn with_import_bar<T>(
    visible: bool,
    run: impl FnOnce(&mut dyn FnMut(ImportProgress)) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let bar = if visible {
        let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "importing [{bar:40}] {human_pos}/{human_len} rows  {per_sec}  ETA {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let result = run(&mut |event| match event {
        ImportProgress::Validated { rows } => bar.set_length(rows),
        ImportProgress::Rows(n) => bar.set_position(n),
        ImportProgress::Batch(b) => bar.set_message(format!("batch {} {:?}", b.batch, b.state)),
    });
    bar.finish_and_clear();
    result
}
