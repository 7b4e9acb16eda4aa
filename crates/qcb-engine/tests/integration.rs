//! Engine tests against the Graph emulator on 127.0.0.1 and a real repository on disk.

mod integration {
    pub mod categories;
    pub mod errors;
    pub mod export;
    pub mod faults;
    pub mod faults_all;
    pub mod hostile;
    pub mod hostile_mime;
    pub mod incremental;
    pub mod permissions;
    pub mod progress;
    pub mod restore_all;
    pub mod roundtrip;
    pub mod s3_desktop;
    pub mod search;
    pub mod sets;
    pub mod support;
    pub mod wizard;
}
