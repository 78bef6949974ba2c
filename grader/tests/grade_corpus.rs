//! `grader grade` on a folder of submissions, as an instructor runs it: the solved
//! notebook scores full marks, the student notebook zero ("not implemented yet"),
//! every wrong implementation fails exactly its own exercise, alternative correct
//! implementations pass, and broken or hostile submissions cost only themselves.
//! Several mutations share a submission when they sit in different exercises:
//! exercises are graded in isolation, which is what this checks.

use grader::notebook::{cell_source, cell_tag, Version};
use grader::solve::{build_notebook, repo_root};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

const SEED: &str = "97531";

type Patch<'a> = (&'a str, &'a str, &'a str);

/// The solved notebook with `find` replaced by `replace` in the named exercise cells.
fn patched(solved: &Value, patches: &[Patch]) -> Value {
    let mut nb = solved.clone();
    for (cell_id, find, replace) in patches {
        let cell = nb["cells"].as_array_mut().unwrap().iter_mut().find(|c| cell_tag(c).is_some_and(|(k, i)| k == "exercise" && i == *cell_id)).unwrap_or_else(|| panic!("no exercise cell {cell_id}"));
        let source = cell_source(cell);
        assert!(source.contains(find), "cell {cell_id} no longer contains {find:?}; update the corpus");
        cell["source"] = json!(source.replace(find, replace));
    }
    nb
}

fn write(dir: &Path, name: &str, nb: &Value) {
    std::fs::write(dir.join(format!("{name}.ipynb")), serde_json::to_string(nb).unwrap()).unwrap();
}

fn zip(dir: &Path, name: &str, entries: &[(&str, &[u8])]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(dir.join(format!("{name}.zip"))).unwrap());
    let opts = zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (n, data) in entries {
        z.start_file(*n, opts).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap();
}

struct Graded {
    name: String,
    results: Value,
}

impl Graded {
    fn failed(&self) -> BTreeSet<String> {
        self.results["tests"].as_array().unwrap().iter().filter(|t| t["status"] != "passed").map(|t| t["name"].as_str().unwrap().to_string()).collect()
    }
    fn output(&self, exercise: &str) -> String {
        let t = self.results["tests"].as_array().unwrap().iter().find(|t| t["name"] == exercise).unwrap_or_else(|| panic!("{}: no test {exercise}", self.name));
        t["output"].as_str().unwrap().to_string()
    }
    fn expect_failed(&self, exercises: &[&str]) {
        let want: BTreeSet<String> = exercises.iter().map(|s| s.to_string()).collect();
        assert_eq!(self.failed(), want, "{}: failed exercises differ; results:\n{:#}", self.name, self.results);
    }
}

const WRONG_A: [Patch; 6] = [
    ("cross_attention", "(q.matmul(&k.transpose(1, 2)) * scale)", "q.matmul(&k.transpose(1, 2))"),
    ("feed_forward", "gelu(\"none\")", "gelu(\"tanh\")"),
    ("resnet_block", "let (scale, shift) = (&scale_shift[0], &scale_shift[1]);", "let (shift, scale) = (&scale_shift[0], &scale_shift[1]);"),
    ("unet_forward", "Tensor::cat(&[&x, &skip], 1)", "Tensor::cat(&[&skip, &x], 1)"),
    ("q_sample", "extract(&s.sqrt_alphas_cumprod, t, rank)", "extract(&(1f64 - &s.betas).sqrt(), t, rank)"),
    ("p_losses", "let predicted_noise = model(&x_noisy, t, context);", "let predicted_noise = model(&x_noisy, t, context);\n    let noise = x_start; // the loss taken against x_start"),
];

const WRONG_B: [Patch; 6] = [
    ("cross_attention", ".softmax(-1, Kind::Float)", ".softmax(1, Kind::Float)"),
    ("resnet_block", "* (scale + 1.0) + shift", "* scale + shift"),
    ("scheduler", "alphas_cumprod.slice(0, 0, -1, 1).pad([1, 0], \"constant\", Some(1.0))", "alphas_cumprod.slice(0, 1, config.timesteps, 1).pad([0, 1], \"constant\", Some(1.0))"),
    ("p_sample", "    if t_index == 0 {\n        model_mean\n", "    if t_index == 0 {\n        model_mean + extract(&s.betas, t, rank).sqrt() * noise\n"),
    ("answer_numbers", "(0..=100)", "(0..100)"),
    ("unet_forward", "self.time_mlp_1.forward(&self.time_pos_emb.forward(time)).silu()", "self.time_mlp_1.forward(&self.time_pos_emb.forward(time))"),
];

const WRONG_C: [Patch; 5] = [
    ("cross_attention", "t.reshape([b, n, h, d]).permute([0, 2, 1, 3]).reshape([b * h, n, d])", "t.reshape([b * h, n, d])"),
    ("resnet_block", "        skip + h\n", "        let _ = skip;\n        h\n"),
    ("scheduler", "alphas.cumprod(0, Kind::Float)", "alphas.copy()"),
    ("q_sample", "extract(&s.sqrt_one_minus_alphas_cumprod, t, rank) * noise", "(1f64 - extract(&s.sqrt_alphas_cumprod, t, rank)) * noise"),
    ("p_sample", "(x - betas_t * model(x, t, context) / sqrt_one_minus_t)", "(x + betas_t * model(x, t, context) / sqrt_one_minus_t)"),
];

const WRONG_D: [Patch; 3] = [
    ("cross_attention", "let context = context.unwrap_or(x);", "let context = x;"),
    ("resnet_block", "group_norm(&vs / \"in_layers\" / 0, dim, 1e-5)", "nn::group_norm(&vs / \"in_layers\" / 0, 8, dim, nn::GroupNormConfig { eps: 1e-5, ..Default::default() })"),
    ("feed_forward", "config.dim_out.unwrap_or(config.dim)", "config.dim"),
];

/// Other correct ways: einsum, another reshape order, narrow instead of chunk,
/// index_select instead of gather, GELU by its formula, the mean written out.
const RIGHT_A: [Patch; 5] = [
    ("cross_attention", "let attn = (q.matmul(&k.transpose(1, 2)) * scale).softmax(-1, Kind::Float); // [B*H, N, M]\n        let out = attn.matmul(&v);",
     "let attn = (Tensor::einsum(\"bnd,bmd->bnm\", &[&q, &k], None::<i64>) * scale).softmax(-1, Kind::Float);\n        let out = Tensor::einsum(\"bnm,bmd->bnd\", &[&attn, &v], None::<i64>);"),
    ("resnet_block", "let scale_shift = emb.chunk(2, 1);\n        let (scale, shift) = (&scale_shift[0], &scale_shift[1]);",
     "let c = self.config.dim_out;\n        let (scale, shift) = (&emb.narrow(1, 0, c), &emb.narrow(1, c, c));"),
    ("q_sample", "let rank = x_start.dim();\n    extract(&s.sqrt_alphas_cumprod, t, rank) * x_start + extract(&s.sqrt_one_minus_alphas_cumprod, t, rank) * noise",
     "let mut shape = vec![-1i64];\n    shape.extend(std::iter::repeat(1).take(x_start.dim() - 1));\n    s.sqrt_alphas_cumprod.index_select(0, t).view(shape.as_slice()) * x_start + s.sqrt_one_minus_alphas_cumprod.index_select(0, t).view(shape.as_slice()) * noise"),
    ("feed_forward", "let h = self.net_0.forward(x).gelu(\"none\");", "let a = self.net_0.forward(x);\n        let h = &a * 0.5 * ((&a / 2f64.sqrt()).erf() + 1.0);"),
    ("p_losses", "LossType::L2 => noise.mse_loss(&predicted_noise, Reduction::Mean),", "LossType::L2 => (noise - &predicted_noise).square().mean(Kind::Float),"),
];

const RIGHT_B: [Patch; 2] = [
    ("cross_attention", "t.reshape([b, n, h, d]).permute([0, 2, 1, 3]).reshape([b * h, n, d])", "t.view([b, n, h, d]).transpose(1, 2).contiguous().view([b * h, n, d])"),
    ("cross_attention", "let attn = (q.matmul(&k.transpose(1, 2)) * scale)", "let attn = (&q * scale).matmul(&k.transpose(1, 2))"),
];

fn hostile_a(port: u16) -> Vec<(String, String, String)> {
    let hunt = r#"let context = context.unwrap_or(x);
        let mut found = Vec::new();
        for (k, v) in std::env::vars() { found.push(format!("env {k}={v}")); }
        for pid in ["1", "2", "self/../1"] {
            for f in ["cmdline", "environ"] {
                found.push(format!("{pid}/{f}: {:?}", std::fs::read(format!("/proc/{pid}/{f}")).map(|b| String::from_utf8_lossy(&b).into_owned())));
            }
        }
        found.push(format!("procs: {:?}", std::fs::read_dir("/proc").map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect::<Vec<_>>())));
        found.push(format!("cwd: {:?}", std::fs::read_dir(".").map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect::<Vec<_>>())));
        panic!("hunting: {}", found.join(" | "));"#;
    vec![
        ("resnet_block".into(), "let h = self.in_layers_2.forward(&self.in_layers_0.forward(x).silu());".into(), "let h = self.in_layers_2.forward(&self.in_layers_0.forward(x).silu())\n        let broken: i64 = \"not a number\";".into()),
        ("q_sample".into(), "let rank = x_start.dim();".into(), "let rank = x_start.dim();\n    loop { std::hint::black_box(rank); }".into()),
        ("cross_attention".into(), "let context = context.unwrap_or(x);".into(), hunt.into()),
        ("unet_forward".into(), "let x = self.init_conv.forward(x);".into(), format!("let r = std::net::TcpStream::connect_timeout(&\"127.0.0.1:{port}\".parse().unwrap(), std::time::Duration::from_secs(2));\n        panic!(\"connect: {{r:?}}\");\n        let x = self.init_conv.forward(x);")),
    ]
}

const HOSTILE_B: [Patch; 5] = [
    ("feed_forward", "let h = self.net_0.forward(x).gelu(\"none\");", "panic!(\"boom from the student\");\n        let h = self.net_0.forward(x).gelu(\"none\");"),
    ("scheduler", "let betas = config.schedule.betas(config.timesteps);", "let mut hog: Vec<Vec<u8>> = Vec::new();\n        loop { hog.push(vec![1u8; 1 << 26]); }\n        let betas = config.schedule.betas(config.timesteps);"),
    ("p_losses", "let x_noisy = q_sample(s, x_start, t, noise);", "loop { println!(\"{}\", \"flood \".repeat(200)); eprintln!(\"{}\", \"flood \".repeat(200)); }\n    let x_noisy = q_sample(s, x_start, t, noise);"),
    ("p_sample", "let rank = x.dim();", "let rank = x.dim();\n    if rank > 0 { return x * f64::NAN; }"),
    ("answer_numbers", "let beta = |s: usize|", "let _ = std::process::Command::new(\"sh\").args([\"-c\", \"touch /tmp/hostile-spawned-97531; sleep 120 # hostile-marker-97531\"]).spawn();\n    std::thread::sleep(std::time::Duration::from_millis(500));\n    let beta = |s: usize|"),
];

#[test]
fn a_folder_of_submissions_is_graded_each_on_its_own() {
    let solved = build_notebook(&repo_root(), Version::Solved).unwrap();
    let student = build_notebook(&repo_root(), Version::Student).unwrap();
    let dir = std::env::temp_dir().join(format!("grade-corpus-{}", std::process::id()));
    let subs = dir.join("submissions");
    std::fs::create_dir_all(&subs).unwrap();
    write(&subs, "solved", &solved);
    write(&subs, "student", &student);
    for (name, patches) in [("wrong-a", &WRONG_A[..]), ("wrong-b", &WRONG_B[..]), ("wrong-c", &WRONG_C[..]), ("wrong-d", &WRONG_D[..]), ("right-a", &RIGHT_A[..]), ("right-b", &RIGHT_B[..]), ("hostile-b", &HOSTILE_B[..])] {
        write(&subs, name, &patched(&solved, patches));
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let ha = hostile_a(listener.local_addr().unwrap().port());
    let ha: Vec<Patch> = ha.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())).collect();
    write(&subs, "hostile-a", &patched(&solved, &ha));
    // A deleted and a duplicated exercise cell.
    let mut cut = solved.clone();
    let cells = cut["cells"].as_array_mut().unwrap();
    cells.retain(|c| cell_tag(c).map_or(true, |(k, i)| !(k == "exercise" && i == "unet_new")));
    let q = cells.iter().position(|c| cell_tag(c).is_some_and(|(k, i)| k == "exercise" && i == "q_sample")).unwrap();
    let copy = cells[q].clone();
    cells.push(copy);
    write(&subs, "cells-moved", &cut);
    std::fs::write(subs.join("malformed.ipynb"), "{\"nbformat\": 4, \"cells\": [").unwrap();
    let solved_bytes = serde_json::to_vec(&solved).unwrap();
    zip(&subs, "zipped", &[("manifest.json", b"{}"), ("notebook.ipynb", &solved_bytes)]);
    zip(&subs, "zip-slip", &[("../../outside.txt", b"x"), ("notebook.ipynb", &solved_bytes)]);
    zip(&subs, "zip-bomb", &[("notebook.ipynb", &vec![b' '; 300 << 20])]);

    let out = dir.join("grades");
    let status = Command::new(env!("CARGO_BIN_EXE_grader"))
        .args(["grade", subs.to_str().unwrap(), "--seed", SEED, "--jobs", "2", "--timeout", "20", "--memory-mb", "1024", "--out", out.to_str().unwrap()])
        .env("GRADER_SEED", SEED)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the grader itself failed: {status}");
    let read = |name: &str| Graded { name: name.into(), results: serde_json::from_str(&std::fs::read_to_string(out.join(name).join("results.json")).unwrap_or_else(|e| panic!("{name}: no results.json: {e}"))).unwrap() };

    let s = read("solved");
    s.expect_failed(&[]);
    assert_eq!(s.results["score"], 100.0);
    let st = read("student");
    assert_eq!(st.results["score"], 0.0);
    for t in st.results["tests"].as_array().unwrap() {
        assert!(t["output"].as_str().unwrap().contains("not implemented yet"), "student: {t}");
    }
    read("wrong-a").expect_failed(&["cross_attention", "feed_forward", "resnet_block", "unet", "q_sample", "p_losses"]);
    read("wrong-b").expect_failed(&["cross_attention", "resnet_block", "scheduler", "p_sample", "answer_numbers", "unet"]);
    read("wrong-c").expect_failed(&["cross_attention", "resnet_block", "scheduler", "q_sample", "p_sample"]);
    read("wrong-d").expect_failed(&["cross_attention", "resnet_block", "feed_forward"]);
    read("right-a").expect_failed(&[]);
    read("right-b").expect_failed(&[]);
    read("zipped").expect_failed(&[]);

    let moved = read("cells-moved");
    moved.expect_failed(&["unet"]);
    assert!(moved.output("unet").contains("unet_new") && moved.output("unet").contains("missing"), "{}", moved.output("unet"));
    assert!(moved.results["output"].as_str().unwrap().contains("`q_sample` appears 2 times"), "{}", moved.results["output"]);

    for (name, why) in [("malformed", "not a JSON notebook"), ("zip-slip", "outside the extraction folder"), ("zip-bomb", "zip bomb")] {
        let r = read(name);
        assert_eq!(r.results["score"], 0.0);
        assert!(r.results["output"].as_str().unwrap().contains(why), "{name}: {}", r.results["output"]);
    }
    assert!(!dir.join("outside.txt").exists() && !std::env::temp_dir().join("outside.txt").exists());

    let a = read("hostile-a");
    a.expect_failed(&["resnet_block", "q_sample", "cross_attention", "unet"]);
    let compile = a.output("resnet_block");
    assert!(compile.contains("compile error") && compile.contains("cell `resnet_block`"), "{compile}");
    assert!(a.output("q_sample").contains("time limit"), "{}", a.output("q_sample"));
    let hunt = a.output("cross_attention");
    assert!(hunt.contains("hunting"), "the hostile code did not run: {hunt}");
    let everything = serde_json::to_string(&a.results).unwrap();
    assert!(!everything.contains(SEED), "the secret seed leaked into the results: {hunt}");
    assert!(!everything.contains("GRADER_SEED"), "{hunt}");
    assert!(a.output("unet").contains("connect: Err"), "{}", a.output("unet"));
    assert!(matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock), "the student code reached the grader's network");

    let b = read("hostile-b");
    // The spawned process is harmless, so the answers still count.
    b.expect_failed(&["feed_forward", "scheduler", "p_losses", "p_sample"]);
    assert!(b.output("feed_forward").contains("boom from the student"), "{}", b.output("feed_forward"));
    let hog = b.output("scheduler");
    assert!(hog.contains("crashed") || hog.contains("killed") || hog.contains("memory"), "{hog}");
    assert!(b.output("p_sample").contains("NaN"), "{}", b.output("p_sample"));
    assert!(std::fs::metadata(out.join("hostile-b/results.json")).unwrap().len() < 64 << 10, "the flood reached the results");
    assert!(!Path::new("/tmp/hostile-spawned-97531").exists(), "a process the student spawned wrote outside its sandbox");
    let alive = Command::new("pgrep").args(["-f", "hostile-marker-97531"]).output().unwrap();
    assert!(alive.stdout.is_empty(), "a process the student spawned outlived grading");

    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 15, "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("solved,100,100,")), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("malformed,0,100,") && l.ends_with(",error")), "{csv}");
    let _ = std::fs::remove_dir_all(&dir);
}
