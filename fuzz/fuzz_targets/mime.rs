//! The MIME handling of restore and export: splitting a message into headers, body and
//! attachments, and reading its headers as item properties. Any bytes: no panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    qcb_engine::fuzzing::mime(data);
});
