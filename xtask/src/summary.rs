//! `cargo xtask summary`: print the resolved configuration of an image definition.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use image_builder::Definition;

use crate::workspace_root;

/// Which definition to read, as mkosi's own flags say it.
#[derive(Args)]
pub(crate) struct DefinitionArgs {
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
    /// The definition these flags name: NAME is an image of `fixtures/` unless `-C` names
    /// another tree; relative paths are taken from the current directory.
    pub(crate) fn definition(&self) -> Result<Definition> {
        let directory = match (&self.directory, &self.name) {
            (Some(dir), _) => dir.clone(),
            (None, Some(_)) => workspace_root().join("fixtures"),
            (None, None) => std::env::current_dir().context("no current directory")?,
        };
        let directory = absolute(&directory)?;
        let mut definition = Definition::tree(directory);
        if let Some(name) = &self.name {
            definition.image = Some(name.clone());
            let file = definition
                .directory
                .join(definition.image_file().unwrap_or_default());
            anyhow::ensure!(
                file.is_file(),
                "no image named {name}: {} does not exist",
                file.display()
            );
        }
        definition.includes.clone_from(&self.includes);
        definition.profiles.clone_from(&self.profiles);
        definition.image_id.clone_from(&self.image_id);
        definition.environment.clone_from(&self.environment);
        for tree in &self.extra_trees {
            let (source, target) = match tree.split_once(':') {
                Some((source, target)) => (source, Some(target)),
                None => (tree.as_str(), None),
            };
            let source = absolute(Path::new(source))?.display().to_string();
            definition.extra_trees.push(match target {
                Some(target) => format!("{source}:{target}"),
                None => source,
            });
        }
        Ok(definition)
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot make {} absolute", path.display()))
}

/// Arguments of `cargo xtask summary`.
#[derive(Args)]
pub(crate) struct SummaryArgs {
    #[command(flatten)]
    image: DefinitionArgs,
    /// Print the JSON that scripts receive in `$MKOSI_CONFIG`.
    #[arg(long, conflicts_with = "toml")]
    json: bool,
    /// Print TOML.
    #[arg(long)]
    toml: bool,
}

pub(crate) fn run(args: &SummaryArgs) -> Result<()> {
    let options = args.image.definition()?.load_options();
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
