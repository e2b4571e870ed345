import CommandSupport
import Testing

@Suite struct CimdbHomeTests {
    @Test("the default home follows CIMDB_HOME, then XDG_DATA_HOME, then HOME")
    func defaultHome() {
        #expect(CimdbHome.path(environment: ["CIMDB_HOME": "/x", "XDG_DATA_HOME": "/y", "HOME": "/z"]) == "/x")
        #expect(CimdbHome.path(environment: ["XDG_DATA_HOME": "/y", "HOME": "/z"]) == "/y/cimdb")
        #expect(CimdbHome.path(environment: ["HOME": "/z"]) == "/z/.local/share/cimdb")
        #expect(CimdbHome.path(environment: ["CIMDB_HOME": "", "HOME": "/z"]) == "/z/.local/share/cimdb")
    }
}
