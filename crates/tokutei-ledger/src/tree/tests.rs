//! Tree tests: the published RFC 6962/9162 vectors (transparency-dev `testonly` constants),
//! a differential oracle (`ct-merkle`), and proptest over random sizes and indexes.

use proptest::prelude::*;

use super::*;
use crate::hash::leaf_hash;

fn h(text: &str) -> Hash {
    hex_hash::parse(text).unwrap()
}

/// The leaf inputs of the transparency-dev / certificate-transparency test corpus.
fn vector_leaves() -> Vec<Vec<u8>> {
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
        .iter()
        .map(|x| hex::decode(x).unwrap())
        .collect()
}

/// Roots of the first n leaves, n = 0..=8.
const VECTOR_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (index, size, proof) from the same corpus (which numbers leaves from 1; here from 0).
const VECTOR_INCLUSION: &[(u64, u64, &[&str])] = &[
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old, new, proof) from the same corpus.
const VECTOR_CONSISTENCY: &[(u64, u64, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

fn vector_tree(n: usize) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in &vector_leaves()[..n] {
        tree.push(leaf_hash(leaf));
    }
    tree
}

fn tree_of(size: u64) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for i in 0..size {
        tree.push(leaf_hash(&i.to_be_bytes()));
    }
    tree
}

#[test]
fn roots_match_the_published_vectors() {
    for (n, expected) in VECTOR_ROOTS.iter().enumerate() {
        let tree = vector_tree(n);
        assert_eq!(hex::encode(tree.head().root), *expected, "root of {n} leaves from the compact range");
        let head = tree_head(&tree, n as u64).unwrap();
        assert_eq!(hex::encode(head.root), *expected, "root of {n} leaves from stored nodes");
    }
}

#[test]
fn inclusion_proofs_match_the_published_vectors() {
    let leaves = vector_leaves();
    for &(index, size, expected) in VECTOR_INCLUSION {
        let tree = vector_tree(8);
        let proof = prove_inclusion(&tree, index, size).unwrap();
        let expected: Vec<Hash> = expected.iter().map(|x| h(x)).collect();
        assert_eq!(proof, expected, "inclusion of {index} in {size}");
        let head = TreeHead { size, root: h(VECTOR_ROOTS[size as usize]) };
        verify_inclusion(index, &leaf_hash(&leaves[index as usize]), &proof, &head).unwrap();
    }
}

#[test]
fn consistency_proofs_match_the_published_vectors() {
    let tree = vector_tree(8);
    for &(old, new, expected) in VECTOR_CONSISTENCY {
        let proof = prove_consistency(&tree, old, new).unwrap();
        let expected: Vec<Hash> = expected.iter().map(|x| h(x)).collect();
        assert_eq!(proof, expected, "consistency {old} -> {new}");
        let old_head = TreeHead { size: old, root: h(VECTOR_ROOTS[old as usize]) };
        let new_head = TreeHead { size: new, root: h(VECTOR_ROOTS[new as usize]) };
        verify_consistency(&old_head, &new_head, &proof).unwrap();
    }
}

#[test]
fn bad_proofs_are_refused() {
    let tree = tree_of(13);
    let head = tree_head(&tree, 13).unwrap();
    let leaf = leaf_hash(&5u64.to_be_bytes());
    let mut proof = prove_inclusion(&tree, 5, 13).unwrap();
    verify_inclusion(5, &leaf, &proof, &head).unwrap();
    assert_eq!(verify_inclusion(6, &leaf, &proof, &head), Err(ProofError::RootMismatch));
    assert_eq!(verify_inclusion(13, &leaf, &proof, &head), Err(ProofError::IndexOutOfRange { index: 13, size: 13 }));
    proof[1][0] ^= 1;
    assert_eq!(verify_inclusion(5, &leaf, &proof, &head), Err(ProofError::RootMismatch));
    proof.pop();
    assert!(matches!(verify_inclusion(5, &leaf, &proof, &head), Err(ProofError::WrongLength { .. })));

    let old = tree_head(&tree, 7).unwrap();
    let mut proof = prove_consistency(&tree, 7, 13).unwrap();
    verify_consistency(&old, &head, &proof).unwrap();
    let wrong_old = TreeHead { size: 7, root: leaf };
    assert_eq!(verify_consistency(&wrong_old, &head, &proof), Err(ProofError::RootMismatch));
    proof[0][3] ^= 0x80;
    assert_eq!(verify_consistency(&old, &head, &proof), Err(ProofError::RootMismatch));
    assert_eq!(verify_consistency(&head, &old, &[]), Err(ProofError::OldLarger { old: 13, new: 7 }));
}

#[test]
fn proofs_read_few_nodes() {
    // O(log n): never more than 2·log2(n)+2 stored nodes for any proof of a large tree.
    let size = (1u64 << 40) + 12345;
    for index in [0, 1, size / 3, size - 1] {
        let ids = inclusion_plan(index, size).unwrap().node_ids();
        assert!(ids.len() <= 82, "{} nodes for inclusion of {index}", ids.len());
    }
    for old in [1, 17, size / 2, size - 1] {
        let ids = consistency_plan(old, size).unwrap().node_ids();
        assert!(ids.len() <= 82, "{} nodes for consistency from {old}", ids.len());
    }
}

type Oracle = ct_merkle::mem_backed_tree::MemoryBackedTree<sha2_digest011::Sha256, Vec<u8>>;

fn oracle_of(size: u64) -> Oracle {
    let mut oracle = Oracle::new();
    for i in 0..size {
        oracle.push(i.to_be_bytes().to_vec());
    }
    oracle
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Roots and inclusion proofs agree with `ct-merkle` byte for byte, and ours verify.
    #[test]
    fn inclusion_agrees_with_ct_merkle(size in 1u64..300, index_seed in any::<u64>()) {
        let index = index_seed % size;
        let tree = tree_of(size);
        let oracle = oracle_of(size);
        let head = tree_head(&tree, size).unwrap();
        let their_root = oracle.root();
        prop_assert_eq!(head.root.as_slice(), their_root.as_bytes().as_slice());
        let proof = prove_inclusion(&tree, index, size).unwrap();
        let theirs = oracle.prove_inclusion(index as usize);
        prop_assert_eq!(proof.concat(), theirs.as_bytes().to_vec());
        verify_inclusion(index, &leaf_hash(&index.to_be_bytes()), &proof, &head).unwrap();
        oracle.root().verify_inclusion(&index.to_be_bytes().to_vec(), index, &theirs).unwrap();
    }

    /// Consistency proofs agree with `ct-merkle` and verify; a different old root fails.
    #[test]
    fn consistency_agrees_with_ct_merkle(new in 2u64..300, old_seed in any::<u64>()) {
        let old = 1 + old_seed % (new - 1);
        let tree = tree_of(new);
        let oracle = oracle_of(new);
        let proof = prove_consistency(&tree, old, new).unwrap();
        let theirs = oracle.prove_consistency((new - old) as usize);
        prop_assert_eq!(proof.concat(), theirs.as_bytes().to_vec());
        let old_head = tree_head(&tree, old).unwrap();
        let new_head = tree_head(&tree, new).unwrap();
        verify_consistency(&old_head, &new_head, &proof).unwrap();
        let old_root = ct_merkle::RootHash::<sha2_digest011::Sha256>::new(old_head.root.into(), old);
        oracle.root().verify_consistency(&old_root, &theirs).unwrap();
        let other = tree_head(&tree, old - 1).map(|h| h.root).unwrap();
        let forged = TreeHead { size: old, root: other };
        prop_assert!(verify_consistency(&forged, &new_head, &proof).is_err());
    }

    /// The compact range rebuilt from stored frontier nodes continues the same tree.
    #[test]
    fn compact_range_resumes_from_frontier(size in 0u64..200, more in 0u64..50) {
        let tree = tree_of(size);
        let ids = CompactRange::frontier_ids(size);
        let hashes = tree.nodes(&ids).unwrap();
        let mut range = CompactRange::from_frontier(size, hashes).unwrap();
        prop_assert_eq!(range.head(), tree_head(&tree, size).unwrap());
        for i in size..size + more {
            range.push(leaf_hash(&i.to_be_bytes()), |_, _| {});
        }
        prop_assert_eq!(range.head(), tree_head(&tree_of(size + more), size + more).unwrap());
    }
}
