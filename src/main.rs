fn main() {
    std::process::exit(kwi_lint::cli::main());
}
