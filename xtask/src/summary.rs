//! `cargo xtask summary`: print the resolved configuration of an image definition.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use config_model::{Host, LoadOptions, Override};

use crate::workspace_root;

/// Which definition to read, as mkosi's own flags say it.
#[derive(Args)]
pub struct DefinitionArgs {
    /// An image in `fixtures/images/` (read as `-I images/NAME.conf` in the fixtures tree).
    pub name: Option<String>,
    /// The mkosi tree to read (default: `fixtures/` with NAME, else the current directory).
    #[arg(long, short = 'C')]
    pub directory: Option<PathBuf>,
    /// Extra configuration files or directories to include, relative to the tree.
    #[arg(short = 'I', long = "include")]
    pub includes: Vec<PathBuf>,
    /// Profiles to enable (from `mkosi.profiles/`).
    #[arg(long = "profile")]
    pub profiles: Vec<String>,
    /// Override `ImageId=`.
    #[arg(long)]
    pub image_id: Option<String>,
    /// Add or override an `Environment=` variable (`KERNEL_VERSION=7.2`), as mkosi's
    /// `--environment`.
    #[arg(short = 'E', long = "environment", value_name = "NAME=VALUE")]
    pub environment: Vec<String>,
    /// Add a tree to `ExtraTrees=`, copied into the image after the definition's own, as
    /// mkosi's `--extra-tree` (`SOURCE[:TARGET]`; SOURCE relative to the current directory).
    #[arg(long = "extra-tree", value_name = "SOURCE[:TARGET]")]
    pub extra_trees: Vec<String>,
}

impl DefinitionArgs {
    /// The loader options these flags describe.
    pub fn load_options(&self) -> Result<LoadOptions> {
        let directory = match (&self.directory, &self.name) {
            (Some(dir), _) => dir.clone(),
            (None, Some(_)) => workspace_root().join("fixtures"),
            (None, None) => std::env::current_dir().context("no current directory")?,
        };
        let directory = std::path::absolute(&directory)
            .with_context(|| format!("cannot make {} absolute", directory.display()))?;
        let mut includes = Vec::new();
        if let Some(name) = &self.name {
            let image = PathBuf::from("images").join(format!("{name}.conf"));
            anyhow::ensure!(
                directory.join(&image).is_file(),
                "no image named {name}: {} does not exist",
                directory.join(&image).display()
            );
            includes.push(image);
        }
        includes.extend(self.includes.iter().cloned());
        let mut overrides: Vec<Override> = self
            .profiles
            .iter()
            .map(|p| Override::new("Profiles", p))
            .collect();
        overrides.extend(self.image_id.iter().map(|id| Override::new("ImageId", id)));
        overrides.extend(
            self.environment
                .iter()
                .map(|assignment| Override::new("Environment", assignment)),
        );
        for tree in &self.extra_trees {
            let (source, target) = match tree.split_once(':') {
                Some((source, target)) => (source, Some(target)),
                None => (tree.as_str(), None),
            };
            let source = std::path::absolute(source)
                .with_context(|| format!("cannot make {source} absolute"))?;
            let value = match target {
                Some(target) => format!("{}:{target}", source.display()),
                None => source.display().to_string(),
            };
            overrides.push(Override::new("ExtraTrees", &value));
        }
        Ok(LoadOptions {
            directory,
            includes,
            overrides,
            host: Host::detect(),
        })
    }
}

/// Arguments of `cargo xtask summary`.
#[derive(Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    image: DefinitionArgs,
    /// Print the JSON that scripts receive in `$MKOSI_CONFIG`.
    #[arg(long, conflicts_with = "toml")]
    json: bool,
    /// Print TOML.
    #[arg(long)]
    toml: bool,
}

pub fn run(args: &SummaryArgs) -> Result<()> {
    let options = args.image.load_options()?;
    let loaded = config_model::load(&options)?;
    for diagnostic in &loaded.diagnostics {
        eprintln!("warning: {diagnostic}");
    }
    if args.json {
        println!("{}", loaded.config.to_json());
    } else if args.toml {
        print!("{}", loaded.config.to_toml());
    } else {
        print!(
            "{}",
            config_model::summary::render(&loaded.config, &options.directory)
        );
    }
    Ok(())
}
