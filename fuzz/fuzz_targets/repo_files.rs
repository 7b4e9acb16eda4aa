//! Every reader of repository files: one file made from the input (a pack, an index, a
//! snapshot or a key file as stored, an index or snapshot after decryption, or a tree) is put
//! into a small real repository, which is then opened and read whole. No panic, whatever the
//! file holds.
#![no_main]

use std::sync::LazyLock;

static FIXTURE: LazyLock<qcb_repo::fuzzing::RepoFixture> =
    LazyLock::new(qcb_repo::fuzzing::RepoFixture::new);

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    FIXTURE.run(data);
});
