//! An item's versions across snapshots: "restore the version from last Tuesday".

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::catalog::join_path;
use crate::error::Result;
use crate::ids::{BlobId, SnapshotId};
use crate::repository::Repository;
use crate::tree::{Node, NodeKind};

/// One snapshot's copy of an item.
#[derive(Debug, Clone)]
pub struct ItemVersion {
    pub snapshot: SnapshotId,
    pub time: DateTime<Utc>,
    /// Where the item was in that snapshot (catalog path syntax).
    pub path: String,
    pub node: Node,
    /// Whether content or properties differ from the previous version listed (the first is
    /// always `true`).
    pub changed: bool,
}

/// A tree's answer: the path below it and the node, if the item is somewhere inside.
type Found = Option<(Vec<String>, Node)>;

impl Repository {
    /// Every snapshot's copy of the item named `name` (wherever it sits: moves between folders
    /// are followed), oldest first.
    pub fn item_versions(&self, name: &str) -> Result<Vec<ItemVersion>> {
        let mut memo: HashMap<BlobId, Found> = HashMap::new();
        let mut out: Vec<ItemVersion> = Vec::new();
        for snap in self.list_snapshots()? {
            if let Some((path, node)) = self.find_item(&snap.tree, name, &mut memo)? {
                let changed = out.last().is_none_or(|prev| {
                    prev.node.content != node.content || prev.node.meta != node.meta
                });
                out.push(ItemVersion {
                    snapshot: snap.id,
                    time: snap.time,
                    path: join_path(&path),
                    node,
                    changed,
                });
            }
        }
        Ok(out)
    }

    fn find_item(
        &self,
        tree_id: &BlobId,
        name: &str,
        memo: &mut HashMap<BlobId, Found>,
    ) -> Result<Found> {
        if let Some(found) = memo.get(tree_id) {
            return Ok(found.clone());
        }
        let tree = self.load_tree(tree_id)?;
        let mut found = None;
        for node in &tree.nodes {
            if node.kind == NodeKind::Item && node.name == name {
                found = Some((vec![node.name.clone()], node.clone()));
                break;
            }
        }
        if found.is_none() {
            for node in tree.nodes.iter().filter(|n| n.kind == NodeKind::Dir) {
                let Some(sub) = node.subtree else { continue };
                if let Some((mut path, n)) = self.find_item(&sub, name, memo)? {
                    path.insert(0, node.name.clone());
                    found = Some((path, n));
                    break;
                }
            }
        }
        memo.insert(*tree_id, found.clone());
        Ok(found)
    }
}
