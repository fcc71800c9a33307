//! `vigil extract`, the offline command, through the real binary.

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn extract_streams_json_lines_in_order() {
    let input: String = (0..2_000)
        .map(|n| format!("{{\"id\": \"doc-{n}\", \"text\": \"Dabiq : hxxps://miroir{n}.example[.]org/a sur Telegram @canal_{n}x\"}}\n"))
        .chain(std::iter::once("une ligne de texte brut #Appel\n".to_string()))
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["extract", "--threads", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vigil extract starts");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stderr.is_empty(), "no progress bar when stderr is not a terminal");
    let lines: Vec<serde_json::Value> = output
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2_001);
    for (n, line) in lines.iter().take(2_000).enumerate() {
        assert_eq!(line["id"], format!("doc-{n}"));
        let values: Vec<&str> =
            line["indicators"].as_array().unwrap().iter().map(|i| i["value"].as_str().unwrap()).collect();
        assert!(values.contains(&format!("https://miroir{n}.example.org/a").as_str()), "{values:?}");
        assert!(values.contains(&format!("telegram:canal_{n}x").as_str()), "{values:?}");
        assert_eq!(line["categories"][0]["category"], "propaganda");
    }
    assert_eq!(lines[2_000]["id"], 2_001);
    assert_eq!(lines[2_000]["indicators"][0]["value"], "appel");
}
