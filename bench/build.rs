// torch-sys (links = "tch") exports the folder that holds libtorch; baking it in as an
// rpath lets this package's binaries and tests load libtorch with no LD_LIBRARY_PATH.
fn main() {
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
